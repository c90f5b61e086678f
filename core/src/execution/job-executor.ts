import { EngineUnavailableError, StaleJobStateError } from '../errors';
import type { JobExecution, JobRecord, RunState } from '../job-types';
import { STATUS_REASONS } from '../jobs/defaults';
import type { Logger } from '../logger';
import {
  type Clock,
  type JobQueue,
  type JobStore,
  type LogWriter,
  type QueuedJob,
  type TaskRunner,
  toSeconds,
} from '../ports';
import { RunWatch } from './run-watch';
import { planResources, type ResourcePlan } from './task-plan';
import { type RunEnd, TaskSequence } from './task-sequence';

type FittingPlan = Extract<ResourcePlan, { fits: true }>;

interface Claimed {
  readonly job: JobRecord;
  readonly plan: FittingPlan;
}

export interface JobExecutorDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly runner: TaskRunner;
  readonly logs: LogWriter;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface JobExecutorOptions {
  readonly workerId: string;
  /** How long a worker's claim on a running job lasts without renewal. */
  readonly leaseDurationMs: number;
  /** How often a running job's status is read, bounding how long a delete takes to act. */
  readonly statusPollIntervalMs: number;
  /** Between SIGTERM and SIGKILL when a task is stopped. */
  readonly stopGraceSeconds: number;
  /**
   * How long a job that found no room on the engine stays hidden in the queue before it is
   * tried again. Default 60.
   */
  readonly capacityWaitSeconds?: number;
}

const DEFAULT_CAPACITY_WAIT_SECONDS = 60;

/**
 * Runs queued jobs: claims each with a conditional pending -> running write (so a message
 * delivered twice runs its job once), runs its tasks through the task runner, and records
 * the outcome. Also takes over running jobs whose worker stopped renewing its lease.
 */
export class JobExecutor {
  readonly #deps: JobExecutorDeps;
  readonly #options: JobExecutorOptions;
  readonly #active = new Map<number, Promise<void>>();

  constructor(deps: JobExecutorDeps, options: JobExecutorOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  get activeCount(): number {
    return this.#active.size;
  }

  /** Settles when every run this executor started has ended or let go of its job. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#active.values()]);
  }

  /** Claims the message's job and starts running it; returns once the run has started. */
  async accept(message: QueuedJob, signal: AbortSignal): Promise<void> {
    const { store, queue, logger } = this.#deps;
    const job = await store.get(message.jobId);
    if (job === undefined || job.status !== 'pending') {
      // Deleted while queued, or a duplicate delivery: the table says there is nothing to do.
      logger.info('queued job skipped', { jobId: message.jobId, status: job?.status });
      await queue.ack(message.receipt);
      return;
    }
    const claimed = await this.#claim(job);
    await queue.ack(message.receipt);
    if (claimed !== undefined) {
      // A job that waited for capacity resumes at the task that found no room.
      this.#track(claimed.job, claimed.plan, claimed.job.runState, signal);
    }
  }

  /**
   * Takes over running jobs whose lease has run out, resuming where their worker stopped.
   */
  async reconcile(signal: AbortSignal): Promise<number> {
    const { store, clock, logger } = this.#deps;
    let resumed = 0;
    for (const job of await store.listUnfinished('running', signal)) {
      const expired = (job.lease?.expiresAtMs ?? 0) <= clock.nowMs();
      // A worker that keeps its id across restarts (local mode) resumes its own jobs at once.
      const wasMine = job.lease?.workerId === this.#options.workerId;
      if (!(expired || wasMine) || this.#active.has(job.id)) {
        continue;
      }
      const taken = await this.#takeOver(job);
      if (taken !== undefined) {
        logger.info('job taken over', { jobId: job.id, from: job.lease?.workerId });
        this.#track(taken.job, taken.plan, job.runState, signal);
        resumed += 1;
      }
    }
    return resumed;
  }

  async #claim(job: JobRecord): Promise<Claimed | undefined> {
    const { store, runner, clock } = this.#deps;
    const capacity = await runner.capacity();
    const plan = planResources(job, capacity);
    const nowMs = clock.nowMs();
    const queueLimitMinutes = job.spec.policies?.maximumTimeInQueue ?? 0;
    const queuedMs = (job.queuedTime ?? job.createTime) * 1000;
    if (queueLimitMinutes > 0 && nowMs - queuedMs > queueLimitMinutes * 60_000) {
      return this.#refuse(job, STATUS_REASONS.maxTimeInQueue);
    }
    if (!plan.fits) {
      this.#deps.logger.warn('job does not fit', { jobId: job.id, reason: plan.reason });
      return this.#refuse(job, STATUS_REASONS.noMatchingResources);
    }
    // Only a wait for capacity leaves a pending job with a run state: its tasks so far count.
    const waited = job.runState !== undefined;
    const execution: JobExecution = {
      site: capacity.site,
      provisionedResources: plan.provisioned,
      tasks: waited ? [...(job.execution?.tasks ?? [])] : [],
      ...(job.attempt > 0 ? { retries: job.attempt } : {}),
    };
    try {
      const claimed = await store.update(
        job.id,
        { status: 'pending' },
        {
          status: 'running',
          startTime: toSeconds(nowMs),
          attempt: job.attempt + 1,
          lease: this.#newLease(),
          execution,
          clear: waited ? ['statusReason'] : ['statusReason', 'runState'],
        },
      );
      this.#deps.logger.info('job claimed', { jobId: job.id, attempt: claimed.attempt });
      return { job: claimed, plan };
    } catch (error) {
      if (error instanceof StaleJobStateError) {
        return undefined;
      }
      throw error;
    }
  }

  async #refuse(job: JobRecord, reason: string): Promise<undefined> {
    try {
      await this.#deps.store.update(
        job.id,
        { status: 'pending' },
        {
          status: 'failed',
          statusReason: reason,
          endTime: toSeconds(this.#deps.clock.nowMs()),
          inQueue: job.spec.policies?.leaveInQueue === true,
        },
      );
    } catch (error) {
      if (!(error instanceof StaleJobStateError)) throw error;
    }
    return undefined;
  }

  async #takeOver(job: JobRecord): Promise<Claimed | undefined> {
    const plan = planResources(job, await this.#deps.runner.capacity());
    const holder = job.lease === undefined ? {} : { workerId: job.lease.workerId };
    if (!plan.fits) {
      // The engine shrank since the job started: it cannot run here any more.
      await this.#deps.store
        .update(
          job.id,
          { status: 'running', ...holder },
          {
            status: 'failed',
            statusReason: STATUS_REASONS.noMatchingResources,
            endTime: toSeconds(this.#deps.clock.nowMs()),
            inQueue: job.spec.policies?.leaveInQueue === true,
            clear: ['lease', 'runState'],
          },
        )
        .catch((error: unknown) => {
          if (!(error instanceof StaleJobStateError)) throw error;
        });
      return undefined;
    }
    try {
      const taken = await this.#deps.store.update(
        job.id,
        { status: 'running', ...holder },
        { lease: this.#newLease() },
      );
      return { job: taken, plan };
    } catch (error) {
      if (error instanceof StaleJobStateError) return undefined;
      throw error;
    }
  }

  #track(
    job: JobRecord,
    plan: FittingPlan,
    resume: RunState | undefined,
    shutdown: AbortSignal,
  ): void {
    const run: Promise<void> = this.#run(job, plan, resume, shutdown)
      .catch((error: unknown) => {
        if (error instanceof EngineUnavailableError) {
          // The job stays running: once its lease runs out, a worker that reaches the engine
          // resumes it. The stack would say nothing more than the message.
          this.#deps.logger.warn('container engine unavailable', {
            jobId: job.id,
            error: error.message,
          });
          return;
        }
        this.#deps.logger.error('job run failed', { jobId: job.id, error });
      })
      .finally(() => {
        // A retried job may already run again under the same id: leave that entry alone.
        if (this.#active.get(job.id) === run) this.#active.delete(job.id);
      });
    this.#active.set(job.id, run);
  }

  async #run(
    job: JobRecord,
    plan: FittingPlan,
    resume: RunState | undefined,
    shutdown: AbortSignal,
  ): Promise<void> {
    const watch = new RunWatch(job, this.#deps, this.#options);
    const startedMs = this.#deps.clock.nowMs();
    try {
      const sequence = new TaskSequence(this.#deps, this.#options, {
        job,
        plan,
        interrupted: watch.interrupted,
        shutdown,
      });
      const end = await sequence.run(resume);
      await this.#finish(job, end);
      this.#deps.logger.info('job run ended', {
        jobId: job.id,
        attempt: job.attempt,
        outcome: end.kind,
        durationMs: this.#deps.clock.nowMs() - startedMs,
      });
    } finally {
      watch.close();
    }
  }

  async #finish(job: JobRecord, end: RunEnd): Promise<void> {
    if (end.kind === 'shutdown' || end.kind === 'lost') {
      // Another worker (or this one, restarted) picks the job up where it stands.
      return;
    }
    if (end.kind === 'capacity') {
      await this.#waitForCapacity(job, end.execution);
      return;
    }
    const written =
      end.kind === 'deleted'
        ? await this.#keepOnDeleted(job, end.execution)
        : await this.#writeOutcome(job, end);
    if (written === 'lost') {
      // Another worker holds the job now: its containers are not this worker's to remove.
      return;
    }
    await this.#deps.runner.release(job.id);
    if (written === 'requeued') {
      await this.#deps.queue.send(job.id);
    }
  }

  async #writeOutcome(
    job: JobRecord,
    end: Extract<RunEnd, { kind: 'completed' | 'failed' | 'killed' }>,
  ): Promise<'written' | 'requeued' | 'deleted' | 'lost'> {
    const mine = { status: 'running', workerId: this.#options.workerId } as const;
    const clear = ['lease', 'runState'] as const;
    const retriesAllowed = job.spec.policies?.maximumRetries ?? 0;
    try {
      if (end.kind !== 'completed' && job.attempt <= retriesAllowed) {
        await this.#deps.store.update(job.id, mine, {
          status: 'pending',
          queuedTime: toSeconds(this.#deps.clock.nowMs()),
          execution: { ...end.execution, retries: job.attempt },
          clear: [...clear, 'statusReason'],
        });
        return 'requeued';
      }
      await this.#deps.store.update(job.id, mine, {
        status: end.kind,
        ...(end.kind === 'completed' ? {} : { statusReason: end.reason }),
        endTime: toSeconds(this.#deps.clock.nowMs()),
        inQueue: job.spec.policies?.leaveInQueue === true,
        execution: end.execution,
        clear,
      });
      return 'written';
    } catch (error) {
      if (!(error instanceof StaleJobStateError)) throw error;
      // Deleted in the last moment, most likely: keep what the run learnt.
      return this.#keepOnDeleted(job, end.execution);
    }
  }

  /**
   * Puts a job whose task found no room back in the queue, to be tried again after a delay.
   * The claim's attempt is given back, as the job never ran; the run state the sequence saved
   * stays, so the next claim resumes at that task.
   */
  async #waitForCapacity(job: JobRecord, execution: JobExecution): Promise<void> {
    const delaySeconds = this.#options.capacityWaitSeconds ?? DEFAULT_CAPACITY_WAIT_SECONDS;
    try {
      await this.#deps.store.update(
        job.id,
        { status: 'running', workerId: this.#options.workerId },
        {
          status: 'pending',
          statusReason: STATUS_REASONS.waitingForCapacity,
          attempt: job.attempt - 1,
          execution,
          clear: ['lease'],
        },
      );
    } catch (error) {
      if (!(error instanceof StaleJobStateError)) throw error;
      // Deleted meanwhile, most likely; nothing of the task ran, so there is nothing to keep.
      return;
    }
    this.#deps.logger.info('job waits for capacity', { jobId: job.id, delaySeconds });
    await this.#deps.queue.send(job.id, { delaySeconds });
  }

  /** Records the run's facts on a job the user deleted while it ran. */
  async #keepOnDeleted(job: JobRecord, execution: JobExecution): Promise<'deleted' | 'lost'> {
    try {
      await this.#deps.store.update(
        job.id,
        { status: 'deleted' },
        { execution, clear: ['lease', 'runState'] },
      );
      return 'deleted';
    } catch (error) {
      if (!(error instanceof StaleJobStateError)) throw error;
      return 'lost';
    }
  }

  #newLease() {
    return {
      workerId: this.#options.workerId,
      expiresAtMs: this.#deps.clock.nowMs() + this.#options.leaseDurationMs,
    };
  }
}
