import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { LogStream } from '../../core/src/ports';

/** GetLogEvents refuses a larger page. */
const MAX_EVENTS_PER_PAGE = 10_000;

/**
 * The task id at the end of an ECS task ARN, in its long form
 * (`arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`) or the older one without the
 * cluster; undefined for any other handle, such as a local container id.
 */
export function ecsTaskIdOf(handle: string): string | undefined {
  const match = /^arn:aws[a-z-]*:ecs:[^:]*:[^:]*:task\/(?:[^/]+\/)?([^/]+)$/.exec(handle);
  return match?.[1];
}

/**
 * The CloudWatch Logs stream that a job task's log router writes one of its streams to. The
 * runner configures FireLens with the same names (see the shared contract).
 */
export function taskLogStreamName(taskId: string, stream: LogStream): string {
  return `tasks/${taskId}/${stream}`;
}

/**
 * One CloudWatch event as bytes of the job's stream. The router sends a line per event, without
 * its newline, so the newline is put back. Whoever copies events into the job's stored stream
 * must use this same function, or offsets served while the task runs would not match the stored
 * stream afterwards. Known shortcoming: a last line that had no newline gains one, and a line
 * the container runtime split into parts (16 KiB and over) gains one per part.
 */
export function eventBytes(message: string | undefined): Buffer {
  return Buffer.from(`${message ?? ''}\n`, 'utf8');
}

export interface EventRangeRequest {
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** Where to start, in bytes of the stream as `eventBytes` rebuilds it. */
  readonly offsetBytes: number;
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

/**
 * At most `maxBytes` of a CloudWatch stream's events, rebuilt as bytes, from `offsetBytes`;
 * undefined when the stream does not exist (yet). CloudWatch keeps no byte offsets, so the
 * events are read from the stream's head and counted until the offset is reached: a read deep
 * into a large live stream costs one request per megabyte skipped. Storing a page token per
 * offset, or having the worker copy a running task's output to S3 as it goes, would remove
 * that cost.
 */
export async function readEventRange(
  client: CloudWatchLogsClient,
  request: EventRangeRequest,
): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let collectedBytes = 0;
  let positionBytes = 0;
  let token: string | undefined;
  for (;;) {
    const page = await eventPage(client, request, token);
    if (page === undefined) return token === undefined ? undefined : Buffer.concat(parts);

    for (const event of page.events ?? []) {
      const endBytes = positionBytes + Buffer.byteLength(event.message ?? '', 'utf8') + 1;
      if (endBytes > request.offsetBytes) {
        const line = eventBytes(event.message);
        const fromBytes = Math.max(0, request.offsetBytes - positionBytes);
        const takeBytes = Math.min(line.length - fromBytes, request.maxBytes - collectedBytes);
        parts.push(line.subarray(fromBytes, fromBytes + takeBytes));
        collectedBytes += takeBytes;
        if (collectedBytes === request.maxBytes) return Buffer.concat(parts);
      }
      positionBytes = endBytes;
    }

    // The end of the stream is where GetLogEvents hands back the token it was given.
    const next = page.nextForwardToken;
    if (next === undefined || next === token) return Buffer.concat(parts);
    token = next;
  }
}

async function eventPage(
  client: CloudWatchLogsClient,
  request: EventRangeRequest,
  token: string | undefined,
): Promise<GetLogEventsCommandOutput | undefined> {
  try {
    return await client.send(
      new GetLogEventsCommand({
        logGroupName: request.logGroupName,
        logStreamName: request.logStreamName,
        startFromHead: true,
        limit: MAX_EVENTS_PER_PAGE,
        ...(token === undefined ? {} : { nextToken: token }),
      }),
      request.signal === undefined ? {} : { abortSignal: request.signal },
    );
  } catch (error) {
    // The router creates the stream with the task's first line: until then there is none.
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}
