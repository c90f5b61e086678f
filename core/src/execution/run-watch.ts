import type { JobRecord } from '../job-types';
import type { Logger } from '../logger';
import type { Clock, JobStore } from '../ports';

/** Why a run must stop before its tasks end. */
export type RunInterruption = 'deleted' | 'lost';

export interface RunWatchOptions {
  readonly workerId: string;
  readonly leaseDurationMs: number;
  readonly statusPollIntervalMs: number;
}

/**
 * Watches a running job from its worker: renews the worker's lease so that no other worker
 * takes the job over, and notices when the user deleted the job or another worker took it
 * (after this one stalled past its lease). `interrupted` settles with the reason.
 */
export class RunWatch {
  readonly interrupted: Promise<RunInterruption>;
  readonly #store: JobStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: RunWatchOptions;
  readonly #jobId: number;
  #leaseExpiresAtMs: number;
  #timer: NodeJS.Timeout | undefined;
  #settle: (reason: RunInterruption) => void = () => {};
  #closed = false;

  constructor(
    job: JobRecord,
    deps: { store: JobStore; clock: Clock; logger: Logger },
    options: RunWatchOptions,
  ) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#options = options;
    this.#jobId = job.id;
    this.#leaseExpiresAtMs = job.lease?.expiresAtMs ?? 0;
    this.interrupted = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (!this.#closed) {
      this.#timer = setTimeout(() => void this.#tick(), this.#options.statusPollIntervalMs);
    }
  }

  async #tick(): Promise<void> {
    try {
      const reason = await this.#check();
      if (reason !== undefined) {
        this.close();
        this.#settle(reason);
        return;
      }
    } catch (error) {
      // A store hiccup must not end the run: the lease outlives several missed ticks.
      this.#logger.warn('run watch check failed', { jobId: this.#jobId, error });
    }
    this.#schedule();
  }

  async #check(): Promise<RunInterruption | undefined> {
    const job = await this.#store.get(this.#jobId);
    if (job === undefined || job.status !== 'running') {
      return job?.status === 'deleted' ? 'deleted' : 'lost';
    }
    if (job.lease?.workerId !== this.#options.workerId) {
      return 'lost';
    }
    const nowMs = this.#clock.nowMs();
    const renewAtMs = this.#leaseExpiresAtMs - (this.#options.leaseDurationMs * 2) / 3;
    if (nowMs >= renewAtMs) {
      const lease = {
        workerId: this.#options.workerId,
        expiresAtMs: nowMs + this.#options.leaseDurationMs,
      };
      await this.#store.update(
        this.#jobId,
        { status: 'running', workerId: this.#options.workerId },
        { lease },
      );
      this.#leaseExpiresAtMs = lease.expiresAtMs;
    }
    return undefined;
  }
}
