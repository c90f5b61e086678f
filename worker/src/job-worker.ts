import type { JobExecutor } from '../../core/src/execution/job-executor';
import type { Logger } from '../../core/src/logger';
import type { JobQueue } from '../../core/src/ports';

export interface JobWorkerOptions {
  /** How many jobs run at once on this worker. */
  readonly concurrency: number;
  /** Long-poll wait of one queue receive. */
  readonly pollWaitTimeSeconds: number;
  /** How often running jobs of stalled workers are looked for. */
  readonly reconcileIntervalMs: number;
  /** Pause after a failed receive, so a broken queue is not hammered. */
  readonly errorBackoffMs: number;
}

/**
 * The worker's loop: long-polls the queue for as many jobs as it has free slots, hands each
 * to the executor, and now and then takes over jobs whose worker died. `stop()` ends the
 * loop; running containers are left running for the next worker to resume.
 */
export class JobWorker {
  readonly #queue: JobQueue;
  readonly #executor: JobExecutor;
  readonly #logger: Logger;
  readonly #options: JobWorkerOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #nextReconcileMs = 0;

  constructor(
    deps: { queue: JobQueue; executor: JobExecutor; logger: Logger },
    options: JobWorkerOptions,
  ) {
    this.#queue = deps.queue;
    this.#executor = deps.executor;
    this.#logger = deps.logger;
    this.#options = options;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops polling and lets go of running jobs within `deadlineMs`. */
  async stop(deadlineMs: number): Promise<void> {
    this.#abort.abort();
    const settled = Promise.all([this.#loop, this.#executor.drain()]);
    const timeout = new Promise<'timeout'>((resolve) => {
      setTimeout(() => resolve('timeout'), deadlineMs).unref();
    });
    if ((await Promise.race([settled, timeout])) === 'timeout') {
      this.#logger.warn('worker stop deadline passed', { deadlineMs });
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    this.#logger.info('worker started', { concurrency: this.#options.concurrency });
    while (!signal.aborted) {
      try {
        await this.#reconcileWhenDue(signal);
        const free = this.#options.concurrency - this.#executor.activeCount;
        if (free <= 0) {
          await delay(200, signal);
          continue;
        }
        const messages = await this.#queue.receive({
          maxMessages: Math.min(free, 10),
          waitTimeSeconds: this.#options.pollWaitTimeSeconds,
          signal,
        });
        for (const message of messages) {
          await this.#executor.accept(message, signal);
        }
      } catch (error) {
        if (signal.aborted) break;
        this.#logger.error('worker poll failed', { error });
        await delay(this.#options.errorBackoffMs, signal);
      }
    }
    this.#logger.info('worker stopped');
  }

  async #reconcileWhenDue(signal: AbortSignal): Promise<void> {
    if (Date.now() < this.#nextReconcileMs) {
      return;
    }
    this.#nextReconcileMs = Date.now() + this.#options.reconcileIntervalMs;
    const resumed = await this.#executor.reconcile(signal);
    if (resumed > 0) {
      this.#logger.info('jobs resumed', { count: resumed });
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
