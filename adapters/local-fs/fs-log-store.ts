import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FlareError, ValidationError } from '../../core/src/errors';
import type { JobRecord } from '../../core/src/job-types';
import { checkLogRange } from '../../core/src/log-range';
import type { LogReader, LogSink, LogStream, LogWriter } from '../../core/src/ports';

/**
 * Job output as plain files, `<root>/<jobId>/stdout` and `<root>/<jobId>/stderr`. Each write
 * goes straight to the file, so a reader sees output while the job is still running.
 */
export class FsLogStore implements LogReader, LogWriter {
  readonly #rootDir: string;

  constructor(rootDir: string) {
    this.#rootDir = rootDir;
  }

  async read(
    job: JobRecord,
    stream: LogStream,
    offsetBytes: number,
    maxBytes: number,
  ): Promise<Buffer | undefined> {
    checkLogRange(offsetBytes, maxBytes);

    let handle: FileHandle;
    try {
      handle = await open(this.#path(job.id, stream), 'r');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }

    try {
      // The size is taken once: bytes a running job appends meanwhile wait for the next read.
      const { size } = await handle.stat();
      if (offsetBytes >= size) return Buffer.alloc(0);
      const buffer = Buffer.alloc(Math.min(size - offsetBytes, maxBytes));
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(
          buffer,
          filled,
          buffer.length - filled,
          offsetBytes + filled,
        );
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async size(jobId: number, stream: LogStream): Promise<number> {
    try {
      return (await stat(this.#path(jobId, stream))).size;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }

  async open(jobId: number, stream: LogStream, startAtBytes?: number): Promise<LogSink> {
    const path = this.#path(jobId, stream);
    await mkdir(join(this.#rootDir, String(jobId)), { recursive: true });

    const handle = await open(path, 'a');
    try {
      // Only ever cut back: extending a short file would fill the gap with zero bytes.
      if (startAtBytes !== undefined && startAtBytes < (await handle.stat()).size) {
        await handle.truncate(Math.max(0, startAtBytes));
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new FileSink(handle);
  }

  #path(jobId: number, stream: LogStream): string {
    // The id becomes a directory name, so anything but a plain number could escape the root.
    if (!Number.isSafeInteger(jobId) || jobId < 0) {
      throw new ValidationError(`A job id must be a whole number, not ${jobId}`);
    }
    return join(this.#rootDir, String(jobId), stream);
  }
}

/** Appends chunks in the order `write` was called, whatever order their promises settle in. */
class FileSink implements LogSink {
  readonly #handle: FileHandle;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  write(chunk: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new FlareError('The log sink is closed'));
    const written = this.#tail.then(() => this.#handle.appendFile(chunk));
    // One failed write must not stop the ones queued behind it; its caller sees the error.
    this.#tail = written.catch(() => undefined);
    return written;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    await this.#handle.close();
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
