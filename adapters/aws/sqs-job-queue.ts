import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ValidationError } from '../../core/src/errors';
import { createLogger, type Logger } from '../../core/src/logger';
import type { JobQueue, QueuedJob, SendOptions } from '../../core/src/ports';

/** SQS refuses more per receive. */
const MAX_MESSAGES_PER_RECEIVE = 10;
/** SQS refuses a longer long poll. */
const MAX_WAIT_TIME_SECONDS = 20;
/** SQS refuses a longer delay. */
const MAX_DELAY_SECONDS = 900;

/** The JobQueue on one SQS queue. Message bodies are `{"jobId": <id>}` and nothing more. */
export class SqsJobQueue implements JobQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #logger: Logger;

  constructor(client: SQSClient, queueUrl: string, logger: Logger = createLogger('flare')) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#logger = logger;
  }

  /** Sends a reference to the job; a delay is cut to what SQS allows (0 to 900 seconds). */
  async send(jobId: number, options: SendOptions = {}): Promise<void> {
    if (!isJobId(jobId))
      throw new ValidationError(`A job id must be a positive integer, not ${jobId}`);
    const delaySeconds = clamp(options.delaySeconds ?? 0, 0, MAX_DELAY_SECONDS);
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify({ jobId }),
        ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
      }),
      sendOptions(options.signal),
    );
  }

  /**
   * Long-polls for up to `maxMessages` references. Both limits are cut to what SQS allows
   * (10 messages, 20 seconds), so a worker may simply ask for as many as it has room for.
   */
  async receive(options: {
    readonly maxMessages: number;
    readonly waitTimeSeconds: number;
    readonly signal?: AbortSignal;
  }): Promise<QueuedJob[]> {
    const output = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: clamp(options.maxMessages, 1, MAX_MESSAGES_PER_RECEIVE),
        WaitTimeSeconds: clamp(options.waitTimeSeconds, 0, MAX_WAIT_TIME_SECONDS),
      }),
      sendOptions(options.signal),
    );

    const jobs: QueuedJob[] = [];
    for (const message of output.Messages ?? []) {
      const receipt = message.ReceiptHandle;
      if (receipt === undefined) continue;
      const jobId = parseJobReference(message.Body);
      if (jobId === undefined) {
        await this.#drop(message, receipt, options.signal);
        continue;
      }
      jobs.push({ jobId, receipt });
    }
    return jobs;
  }

  async ack(receipt: string, signal?: AbortSignal): Promise<void> {
    await this.#client.send(
      new DeleteMessageCommand({ QueueUrl: this.#queueUrl, ReceiptHandle: receipt }),
      sendOptions(signal),
    );
  }

  /**
   * A body that names no job can never be handled, so redelivering it would only loop. A
   * failed delete is logged, not thrown: the good messages of the batch still go out, and
   * the bad one is dropped when it comes back.
   */
  async #drop(message: Message, receipt: string, signal: AbortSignal | undefined): Promise<void> {
    const fields = { messageId: message.MessageId, bodyLength: message.Body?.length ?? 0 };
    this.#logger.warn('Dropping a queue message that names no job', fields);
    try {
      await this.ack(receipt, signal);
    } catch (error) {
      this.#logger.warn('Could not drop a queue message that names no job', { ...fields, error });
    }
  }
}

function parseJobReference(body: string | undefined): number | undefined {
  if (body === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('jobId' in parsed)) return undefined;
  return isJobId(parsed.jobId) ? parsed.jobId : undefined;
}

function isJobId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}

function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}
