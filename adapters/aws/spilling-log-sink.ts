import { createReadStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FlareError } from '../../core/src/errors';
import type { LogSink } from '../../core/src/ports';

export interface SpillingLogSinkOptions {
  /** Bytes kept in memory; past them the content moves to a file in `tempDir`. */
  readonly spillThresholdBytes: number;
  readonly tempDir: string;
  /** Stores the whole content; called once, by `close`. */
  readonly store: (body: Buffer | Readable, lengthBytes: number) => Promise<void>;
}

interface SpillFile {
  readonly dir: string;
  readonly path: string;
  readonly handle: FileHandle;
}

/**
 * Collects a stream's content and stores it whole on close. Small content stays in memory;
 * larger content goes to a temporary file, so that a worker running many jobs with large logs
 * holds at most the threshold per open stream.
 */
export class SpillingLogSink implements LogSink {
  readonly #options: SpillingLogSinkOptions;
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;
  #lengthBytes = 0;
  #file: SpillFile | undefined;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: SpillingLogSinkOptions) {
    this.#options = options;
  }

  write(chunk: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new FlareError('The log sink is closed'));
    // Copied: the caller may reuse its buffer once the promise settles.
    const copy = Buffer.from(chunk);
    const written = this.#tail.then(() => this.#append(copy));
    // One failed write must not stop the ones queued behind it; its caller sees the error.
    this.#tail = written.catch(() => undefined);
    return written;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    try {
      if (this.#file === undefined) {
        await this.#options.store(Buffer.concat(this.#chunks), this.#lengthBytes);
      } else {
        await this.#file.handle.close();
        await this.#options.store(createReadStream(this.#file.path), this.#lengthBytes);
      }
    } finally {
      await this.#release();
    }
  }

  /** Drops the content without storing it: for a sink whose opening failed half-way. */
  async discard(): Promise<void> {
    this.#closed = true;
    await this.#tail;
    await this.#file?.handle.close().catch(() => undefined);
    await this.#release();
  }

  async #append(chunk: Buffer): Promise<void> {
    if (
      this.#file === undefined &&
      this.#bufferedBytes + chunk.length > this.#options.spillThresholdBytes
    ) {
      this.#file = await this.#spill();
    }
    if (this.#file === undefined) {
      this.#chunks.push(chunk);
      this.#bufferedBytes += chunk.length;
    } else {
      await this.#file.handle.appendFile(chunk);
    }
    this.#lengthBytes += chunk.length;
  }

  async #spill(): Promise<SpillFile> {
    const dir = await mkdtemp(join(this.#options.tempDir, 'flare-log-'));
    const path = join(dir, 'content');
    const handle = await open(path, 'a', 0o600);
    try {
      for (const chunk of this.#chunks) await handle.appendFile(chunk);
    } catch (error) {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    this.#chunks = [];
    this.#bufferedBytes = 0;
    return { dir, path, handle };
  }

  async #release(): Promise<void> {
    this.#chunks = [];
    this.#bufferedBytes = 0;
    if (this.#file !== undefined) {
      await rm(this.#file.dir, { recursive: true, force: true });
      this.#file = undefined;
    }
  }
}
