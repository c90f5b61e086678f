import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ValidationError } from '../../core/src/errors';
import type { JobRecord } from '../../core/src/job-types';
import { checkLogRange } from '../../core/src/log-range';
import { createLogger, type Logger } from '../../core/src/logger';
import type { LogReader, LogSink, LogStream, LogWriter } from '../../core/src/ports';
import { SpillingLogSink } from './spilling-log-sink';
import { ecsTaskIdOf, readEventRange, taskLogStreamName } from './task-log-streams';

export interface AwsLogStoreOptions {
  readonly s3: S3Client;
  readonly logs: CloudWatchLogsClient;
  /** The bucket holding `logs/<jobId>/<stream>` (FLARE_LOG_BUCKET). */
  readonly bucket: string;
  /** The job tasks' log group (FLARE_JOB_LOG_GROUP). */
  readonly logGroupName: string;
  /** Bytes an open stream keeps in memory before it moves to a file. @default 8 MiB */
  readonly spillThresholdBytes?: number;
  /** Where those files go. @default the system's temporary directory */
  readonly tempDir?: string;
  /** @default a logger of its own */
  readonly logger?: Logger;
}

const DEFAULT_SPILL_THRESHOLD_BYTES = 8 * 1024 * 1024;
const CONTENT_TYPE = 'text/plain; charset=utf-8';

/** The running task whose events continue a job's stored stream. */
interface LiveTask {
  readonly taskId: string;
  /** Where the task's output starts in the job's stream. */
  readonly startBytes: number;
}

/** The part of a stored object that was asked for, and whether the object exists at all. */
interface StoredPart {
  readonly found: boolean;
  readonly bytes: Buffer;
}

/**
 * Job output on AWS. A job's streams are S3 objects, `logs/<jobId>/stdout` and `/stderr`,
 * which the worker rewrites at the end of each task. While a task runs on Fargate, its output
 * is in CloudWatch Logs (FireLens writes it there), and reads continue from the object into the
 * task's CloudWatch stream.
 *
 * A stream with no object yet is normal (a job before its first task). S3 tells a missing key
 * (404) from a forbidden one only to callers allowed `s3:ListBucket` on the bucket; others get
 * 403 for both, which this store does not take for "no output" as it would hide a real denial.
 * So both the API's log functions and the worker need ListBucket on the log bucket.
 */
export class AwsLogStore implements LogReader, LogWriter {
  readonly #s3: S3Client;
  readonly #logs: CloudWatchLogsClient;
  readonly #bucket: string;
  readonly #logGroupName: string;
  readonly #spillThresholdBytes: number;
  readonly #tempDir: string;
  readonly #logger: Logger;

  constructor(options: AwsLogStoreOptions) {
    this.#s3 = options.s3;
    this.#logs = options.logs;
    this.#bucket = options.bucket;
    this.#logGroupName = options.logGroupName;
    this.#spillThresholdBytes = options.spillThresholdBytes ?? DEFAULT_SPILL_THRESHOLD_BYTES;
    this.#tempDir = options.tempDir ?? tmpdir();
    this.#logger = options.logger ?? createLogger('flare');
  }

  async read(
    job: JobRecord,
    stream: LogStream,
    offsetBytes: number,
    maxBytes: number,
  ): Promise<Buffer | undefined> {
    checkLogRange(offsetBytes, maxBytes);
    const live = liveTaskOf(job, stream);
    if (live === undefined) {
      const stored = await this.#readObject(job.id, stream, offsetBytes, maxBytes);
      return stored.found ? stored.bytes : undefined;
    }
    return this.#readLive(job.id, stream, live, offsetBytes, maxBytes);
  }

  async size(jobId: number, stream: LogStream): Promise<number> {
    try {
      const head = await this.#s3.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: objectKey(jobId, stream) }),
      );
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
  }

  /**
   * Starts the stream's next version from the stored object, cut to `startAtBytes`; closing
   * the sink stores it whole with one PutObject. One object rewritten whole, rather than a
   * multipart upload, because each task attempt both keeps and drops part of what is stored:
   * the kept part is read back and written again. That costs a transfer of the job's earlier
   * output at every task's end, which is fine up to a few hundred MiB per stream; one PutObject
   * also stops at 5 GB. Past that, a multipart upload that copies the kept part server-side
   * (UploadPartCopy) and uploads only the new task's output would replace it.
   */
  async open(jobId: number, stream: LogStream, startAtBytes?: number): Promise<LogSink> {
    const key = objectKey(jobId, stream);
    const sink = new SpillingLogSink({
      spillThresholdBytes: this.#spillThresholdBytes,
      tempDir: this.#tempDir,
      store: (body, lengthBytes) => this.#put(key, body, lengthBytes),
    });
    if (startAtBytes !== undefined && startAtBytes <= 0) return sink;
    try {
      await this.#copyStored(key, startAtBytes, sink);
    } catch (error) {
      await sink.discard();
      throw error;
    }
    return sink;
  }

  /**
   * The stream while a task runs: the stored object's first `startBytes` bytes, which earlier
   * tasks wrote, then the task's events. Stored bytes past `startBytes` belong to an earlier
   * attempt of this task, which this attempt replaces. When the task ends the worker stores
   * exactly this sequence, so offsets a client holds stay valid across the switch.
   */
  async #readLive(
    jobId: number,
    stream: LogStream,
    live: LiveTask,
    offsetBytes: number,
    maxBytes: number,
  ): Promise<Buffer | undefined> {
    let head: Buffer = Buffer.alloc(0);
    if (offsetBytes < live.startBytes) {
      const wantedBytes = Math.min(maxBytes, live.startBytes - offsetBytes);
      const stored = await this.#readObject(jobId, stream, offsetBytes, wantedBytes);
      head = stored.bytes;
      if (head.length < wantedBytes) {
        // The object lost bytes the job record says it has (removed behind the worker's back):
        // events served after them would sit at offsets the stored stream will not have.
        this.#logger.warn('stored log shorter than the running task start', {
          jobId,
          stream,
          startBytes: live.startBytes,
          storedEndBytes: offsetBytes + head.length,
        });
        return stored.found ? head : undefined;
      }
      if (head.length === maxBytes) return head;
    }

    const events = await readEventRange(this.#logs, {
      logGroupName: this.#logGroupName,
      logStreamName: taskLogStreamName(live.taskId, stream),
      offsetBytes: offsetBytes + head.length - live.startBytes,
      maxBytes: maxBytes - head.length,
    });
    if (events === undefined) return live.startBytes > 0 ? head : undefined;
    return head.length === 0 ? events : Buffer.concat([head, events]);
  }

  async #readObject(
    jobId: number,
    stream: LogStream,
    offsetBytes: number,
    lengthBytes: number,
  ): Promise<StoredPart> {
    try {
      const output = await this.#s3.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey(jobId, stream),
          Range: `bytes=${offsetBytes}-${offsetBytes + lengthBytes - 1}`,
        }),
      );
      const bytes = await output.Body?.transformToByteArray();
      return { found: true, bytes: bytes === undefined ? Buffer.alloc(0) : Buffer.from(bytes) };
    } catch (error) {
      if (isMissing(error)) return { found: false, bytes: Buffer.alloc(0) };
      // S3 refuses a range that starts at or past the end, an empty object's included.
      if (isRangePastEnd(error)) return { found: true, bytes: Buffer.alloc(0) };
      throw error;
    }
  }

  async #copyStored(key: string, startAtBytes: number | undefined, sink: LogSink): Promise<void> {
    let body: GetObjectCommandOutput['Body'];
    try {
      const output = await this.#s3.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          // Past the object's end S3 serves what there is: the stream is never extended.
          ...(startAtBytes === undefined ? {} : { Range: `bytes=0-${startAtBytes - 1}` }),
        }),
      );
      body = output.Body;
    } catch (error) {
      if (isMissing(error) || isRangePastEnd(error)) return;
      throw error;
    }
    if (body instanceof Readable) {
      for await (const chunk of body) await sink.write(chunk as Buffer);
    } else if (body !== undefined) {
      await sink.write(Buffer.from(await body.transformToByteArray()));
    }
  }

  async #put(key: string, body: Buffer | Readable, lengthBytes: number): Promise<void> {
    await this.#s3.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        Body: body,
        ContentLength: lengthBytes,
        ContentType: CONTENT_TYPE,
      }),
    );
  }
}

function liveTaskOf(job: JobRecord, stream: LogStream): LiveTask | undefined {
  const state = job.runState;
  if (job.status !== 'running' || state?.handle === undefined) return undefined;
  const taskId = ecsTaskIdOf(state.handle);
  if (taskId === undefined) return undefined;
  return {
    taskId,
    startBytes: stream === 'stdout' ? state.stdoutStartBytes : state.stderrStartBytes,
  };
}

function objectKey(jobId: number, stream: LogStream): string {
  // The id becomes part of the key, so anything but a plain number could reach other keys.
  if (!Number.isSafeInteger(jobId) || jobId < 0) {
    throw new ValidationError(`A job id must be a whole number, not ${jobId}`);
  }
  return `logs/${jobId}/${stream}`;
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');
}

function isRangePastEnd(error: unknown): boolean {
  return error instanceof Error && error.name === 'InvalidRange';
}
