import { FlareError } from '../../core/src/errors';
import type { JobRecord } from '../../core/src/job-types';
import { checkLogRange } from '../../core/src/log-range';
import type { LogReader, LogSink, LogStream, LogWriter } from '../../core/src/ports';

/** One call of `open`, kept so that tests can see where a resumed task cut its stream back. */
export interface LogOpen {
  readonly jobId: number;
  readonly stream: LogStream;
  readonly startAtBytes?: number;
}

/**
 * Job output in memory, with the FsLogStore's contract: a stream exists once it was opened or
 * seeded, reads start at a byte offset, and `open` cuts a stream back to `startAtBytes` but
 * never extends it.
 */
export class InMemoryLogStore implements LogReader, LogWriter {
  readonly opens: LogOpen[] = [];
  readonly #streams = new Map<string, Buffer>();

  /** Puts content into a stream, as a worker before this one would have. */
  seed(jobId: number, stream: LogStream, content: string | Buffer): void {
    this.#streams.set(keyOf(jobId, stream), Buffer.from(content));
  }

  /** The whole stream as UTF-8, or undefined when it does not exist. */
  text(jobId: number, stream: LogStream): string | undefined {
    return this.#streams.get(keyOf(jobId, stream))?.toString('utf8');
  }

  async read(
    job: JobRecord,
    stream: LogStream,
    offsetBytes: number,
    maxBytes: number,
  ): Promise<Buffer | undefined> {
    checkLogRange(offsetBytes, maxBytes);
    const content = this.#streams.get(keyOf(job.id, stream));
    return content === undefined
      ? undefined
      : Buffer.from(content.subarray(offsetBytes, offsetBytes + maxBytes));
  }

  async size(jobId: number, stream: LogStream): Promise<number> {
    return this.#streams.get(keyOf(jobId, stream))?.length ?? 0;
  }

  async open(jobId: number, stream: LogStream, startAtBytes?: number): Promise<LogSink> {
    this.opens.push({ jobId, stream, ...(startAtBytes === undefined ? {} : { startAtBytes }) });
    const key = keyOf(jobId, stream);
    const current = this.#streams.get(key) ?? Buffer.alloc(0);
    const keptBytes =
      startAtBytes === undefined
        ? current.length
        : Math.max(0, Math.min(startAtBytes, current.length));
    this.#streams.set(key, current.subarray(0, keptBytes));
    return new MemorySink((chunk) => {
      this.#streams.set(key, Buffer.concat([this.#streams.get(key) ?? Buffer.alloc(0), chunk]));
    });
  }
}

class MemorySink implements LogSink {
  readonly #append: (chunk: Buffer) => void;
  #closed = false;

  constructor(append: (chunk: Buffer) => void) {
    this.#append = append;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.#closed) throw new FlareError('The log sink is closed');
    this.#append(Buffer.from(chunk));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

function keyOf(jobId: number, stream: LogStream): string {
  return `${jobId}/${stream}`;
}
