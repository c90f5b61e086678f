import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { LogSink, LogStream, TaskOutput } from '../../core/src/ports';
import { type Backoff, withThrottleRetries } from './retry-backoff';
import { eventBytes, taskLogStreamName } from './task-log-streams';

export interface TaskOutputCopyOptions {
  readonly logs: CloudWatchLogsClient;
  readonly logGroupName: string;
  readonly backoff: Backoff;
  /** Calls of a throttled GetLogEvents before the copy fails. */
  readonly attempts: number;
}

/** Where a stream's copy has got to: the token to read on from. */
interface StreamCursor {
  token?: string;
}

/**
 * Copies a stopped task's two CloudWatch streams into the job's, a line per event, then reads
 * on once more after `settleMs`: CloudWatch may serve the last lines the router sent a moment
 * after it took them in.
 */
export async function copyTaskOutput(
  options: TaskOutputCopyOptions,
  taskId: string,
  output: TaskOutput,
  settle: { readonly ms: number; readonly signal?: AbortSignal },
): Promise<void> {
  const cursors: Record<LogStream, StreamCursor> = { stdout: {}, stderr: {} };
  const copyBoth = async () => {
    for (const stream of ['stdout', 'stderr'] as const) {
      const name = taskLogStreamName(taskId, stream);
      await copyStream(options, name, output[stream], cursors[stream], settle.signal);
    }
  };
  await copyBoth();
  await options.backoff.pause(settle.ms, settle.signal);
  await copyBoth();
}

/** Appends the stream's events from the cursor on, and moves the cursor. */
async function copyStream(
  options: TaskOutputCopyOptions,
  logStreamName: string,
  sink: LogSink,
  cursor: StreamCursor,
  signal: AbortSignal | undefined,
): Promise<void> {
  const retry = { attempts: options.attempts, backoff: options.backoff, ...optional(signal) };
  for (;;) {
    const page = await withThrottleRetries(
      'CloudWatch Logs',
      () => eventPage(options, logStreamName, cursor, signal),
      retry,
    );
    if (page === undefined) return;
    for (const event of page.events ?? []) await sink.write(eventBytes(event.message));
    // GetLogEvents hands back the token it was given once the stream has no more.
    const next = page.nextForwardToken;
    if (next === undefined || next === cursor.token) return;
    cursor.token = next;
  }
}

async function eventPage(
  options: TaskOutputCopyOptions,
  logStreamName: string,
  cursor: StreamCursor,
  signal: AbortSignal | undefined,
): Promise<GetLogEventsCommandOutput | undefined> {
  try {
    return await options.logs.send(
      new GetLogEventsCommand({
        logGroupName: options.logGroupName,
        logStreamName,
        startFromHead: true,
        ...(cursor.token === undefined ? {} : { nextToken: cursor.token }),
      }),
      signal === undefined ? {} : { abortSignal: signal },
    );
  } catch (error) {
    // The router creates a stream with its first line: a task silent on it has none.
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

function optional(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}
