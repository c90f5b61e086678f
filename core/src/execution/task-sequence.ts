import {
  CapacityError,
  EngineUnavailableError,
  ImagePullError,
  StaleJobStateError,
} from '../errors';
import type { JobExecution, JobRecord, RunState, TaskExecution, TaskSpec } from '../job-types';
import { STATUS_REASONS } from '../jobs/defaults';
import type { Logger } from '../logger';
import type { Clock, JobStore, LogWriter, TaskOutcome, TaskRunner } from '../ports';
import type { RunInterruption } from './run-watch';
import { planTaskLaunch, type ResourcePlan, walltimeMs } from './task-plan';

/** How a job's run ended, as far as this worker saw it. */
export type RunEnd =
  | { readonly kind: 'completed'; readonly execution: JobExecution }
  | { readonly kind: 'failed'; readonly reason: string; readonly execution: JobExecution }
  | { readonly kind: 'killed'; readonly reason: string; readonly execution: JobExecution }
  | { readonly kind: 'deleted'; readonly execution: JobExecution }
  /** The engine had no room to start a task: the saved run state says where to resume. */
  | { readonly kind: 'capacity'; readonly execution: JobExecution }
  | { readonly kind: 'lost' }
  | { readonly kind: 'shutdown' };

type Stop = RunInterruption | 'shutdown';

/** Ends of an attempt that are the engine's doing, not a stop someone asked for. */
type Hitch = 'engine' | 'pull' | 'capacity';

interface SequenceDeps {
  readonly store: JobStore;
  readonly runner: TaskRunner;
  readonly logs: LogWriter;
  readonly clock: Clock;
  readonly logger: Logger;
}

interface SequenceOptions {
  readonly workerId: string;
  readonly stopGraceSeconds: number;
}

export interface SequenceContext {
  readonly job: JobRecord;
  readonly plan: Extract<ResourcePlan, { fits: true }>;
  readonly interrupted: Promise<RunInterruption>;
  readonly shutdown: AbortSignal;
}

type AttemptResult =
  | { readonly outcome: TaskOutcome; readonly stop?: 'walltime' | 'deleted' }
  | { readonly stop: Stop | Hitch };

/** setTimeout cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs one job's tasks in order, on one worker: pulls each image, retries a failing task as
 * its policy allows, enforces the job's walltime (image pulls excluded) and stops at a
 * delete. Progress is written to the job after every step, so that another worker can
 * resume the run at the task it reached.
 */
export class TaskSequence {
  readonly #deps: SequenceDeps;
  readonly #options: SequenceOptions;
  readonly #context: SequenceContext;
  readonly #execution: JobExecution;
  readonly #stopRequested: Promise<Stop>;
  /** Aborted once a stop is requested: cuts short a pull or a start that is under way. */
  readonly #stopAbort = new AbortController();
  #onShutdown: () => void = () => {};

  constructor(deps: SequenceDeps, options: SequenceOptions, context: SequenceContext) {
    this.#deps = deps;
    this.#options = options;
    this.#context = context;
    const recorded = context.job.execution;
    this.#execution = { ...(recorded ?? {}), tasks: [...(recorded?.tasks ?? [])] };
    this.#stopRequested = new Promise<Stop>((resolve) => {
      void context.interrupted.then(resolve);
      this.#onShutdown = () => resolve('shutdown');
      if (context.shutdown.aborted) this.#onShutdown();
      context.shutdown.addEventListener('abort', this.#onShutdown, { once: true });
    });
    void this.#stopRequested.then(() => this.#stopAbort.abort());
  }

  async run(resume?: RunState): Promise<RunEnd> {
    try {
      return await this.#runTasks(resume);
    } catch (error) {
      return await this.#endForError(error);
    } finally {
      // The shutdown signal is the worker's and outlives this run.
      this.#context.shutdown.removeEventListener('abort', this.#onShutdown);
    }
  }

  async #runTasks(resume: RunState | undefined): Promise<RunEnd> {
    const { job } = this.#context;
    const budgetMs = walltimeMs(job);
    let usedMs = resume?.walltimeUsedMs ?? 0;
    const maxAttempts = (job.spec.policies?.maximumTaskRetries ?? 0) + 1;

    for (let taskIndex = resume?.taskIndex ?? 0; taskIndex < job.spec.tasks.length; taskIndex++) {
      const resuming = resume?.taskIndex === taskIndex ? resume : undefined;
      const task = job.spec.tasks[taskIndex] as TaskSpec;
      const known = this.#execution.tasks[taskIndex];
      const record = resuming !== undefined && known !== undefined ? known : await this.#pull(task);
      if ('kind' in record) {
        return record;
      }
      this.#execution.tasks[taskIndex] = record;

      let exitCode = 0;
      for (let attempt = resuming?.taskAttempt ?? 0; attempt < maxAttempts; attempt++) {
        const resumeAttempt = resuming?.taskAttempt === attempt ? resuming : undefined;
        const state = await this.#attemptState(taskIndex, attempt, usedMs, resumeAttempt);
        const result = await this.#attempt(state, budgetMs - usedMs - this.#runningMs(state));
        if (!('outcome' in result)) {
          if (result.stop === 'pull') {
            this.#execution.tasks[taskIndex] = { imagePullStatus: 'failed' };
          }
          return this.#endFor(result.stop);
        }
        const { outcome } = result;
        usedMs += outcome.wallTimeSeconds * 1000;
        this.#recordOutcome(taskIndex, record, outcome, attempt);
        if (result.stop !== undefined) {
          return this.#endFor(result.stop);
        }
        if (outcome.oomKilled) {
          return this.#killed(STATUS_REASONS.outOfMemory);
        }
        exitCode = outcome.exitCode;
        if (exitCode === 0) break;
      }
      if (exitCode !== 0 && job.spec.policies?.ignoreTaskFailures !== true) {
        // A failing task ends the run, but the job still counts as completed (spec §5.3).
        break;
      }
    }
    return { kind: 'completed', execution: this.#execution };
  }

  async #pull(task: TaskSpec): Promise<TaskExecution | RunEnd> {
    const startedMs = Date.now();
    try {
      const ready = await this.#deps.runner.prepareImage(
        task.image,
        task.imagePullCredential,
        this.#stopAbort.signal,
      );
      return {
        imagePullStatus: ready.status,
        ...(ready.pullTimeSeconds === undefined ? {} : { imagePullTime: ready.pullTimeSeconds }),
        ...(ready.imageSha256 === undefined ? {} : { imageSha256: ready.imageSha256 }),
      };
    } catch (error) {
      const stop = this.#stopAbort.signal.aborted ? await this.#stopRequested : undefined;
      if (stop !== undefined) {
        return this.#endFor(stop);
      }
      if (!(error instanceof ImagePullError)) {
        throw error;
      }
      this.#deps.logger.warn('image pull failed', {
        jobId: this.#context.job.id,
        image: task.image,
        durationMs: Date.now() - startedMs,
        error: error.message,
      });
      this.#execution.tasks.push({ imagePullStatus: 'failed' });
      await this.#tellStderr(error);
      return this.#failed(STATUS_REASONS.imagePullFailed);
    }
  }

  /**
   * Ends the run on an error that nothing closer handled. The engine refusing this job (an
   * invalid image reference, a workdir that is a file, a memory limit it cannot set) fails
   * it, as a retry would meet the same refusal; an engine that cannot be reached at all
   * leaves it running, for a worker that can reach the engine to resume.
   */
  async #endForError(error: unknown): Promise<RunEnd> {
    if (this.#stopAbort.signal.aborted) {
      // Cut short by the stop, most likely: the stop decides how the run ends.
      return this.#endFor(await this.#stopRequested);
    }
    if (error instanceof EngineUnavailableError) {
      throw error;
    }
    this.#deps.logger.error('job run failed', { jobId: this.#context.job.id, error });
    await this.#tellStderr(error instanceof Error ? error : new Error(String(error)));
    return this.#failed(STATUS_REASONS.engineFailed);
  }

  async #tellStderr(error: Error): Promise<void> {
    const stderr = await this.#deps.logs.open(this.#context.job.id, 'stderr');
    try {
      await stderr.write(failureLine(error));
    } finally {
      await stderr.close();
    }
  }

  /**
   * Records where the attempt starts, and starts its container unless it already runs. The
   * record stays without a handle when the engine has no room: the job resumes from it.
   */
  async #attemptState(
    taskIndex: number,
    taskAttempt: number,
    walltimeUsedMs: number,
    resumed: RunState | undefined,
  ): Promise<RunState | Stop | 'capacity'> {
    const { runner, logs } = this.#deps;
    const { job } = this.#context;
    if (resumed?.handle !== undefined) {
      const found = (await runner.findTasks(job.id)).find((task) => task.handle === resumed.handle);
      if (found?.running === true) {
        return resumed;
      }
      if (found !== undefined) {
        // Its outcome tells how long it ran; the time since it exited is no one's walltime.
        const { startedAtMs: _exited, ...ended } = resumed;
        return ended;
      }
    }
    const state: RunState = resumed ?? {
      taskIndex,
      taskAttempt,
      walltimeUsedMs,
      stdoutStartBytes: await logs.size(job.id, 'stdout'),
      stderrStartBytes: await logs.size(job.id, 'stderr'),
    };
    const { handle: _stale, startedAtMs: _staleStart, ...fresh } = state;
    const saved = await this.#save(fresh);
    if (saved !== undefined) return saved;
    const launch = planTaskLaunch(
      job,
      taskIndex,
      taskAttempt,
      this.#context.plan.provisioned,
      this.#context.plan.memoryMiB,
    );
    let handle: string;
    try {
      handle = await runner.start(launch, this.#stopAbort.signal);
    } catch (error) {
      if (this.#stopAbort.signal.aborted) return this.#stopRequested;
      if (!(error instanceof CapacityError)) throw error;
      this.#deps.logger.warn('task start waits for capacity', {
        jobId: job.id,
        taskIndex,
        attempt: taskAttempt,
        error: error.message,
      });
      return 'capacity';
    }
    this.#deps.logger.info('task started', { jobId: job.id, taskIndex, attempt: taskAttempt });
    const withHandle = { ...fresh, handle, startedAtMs: this.#deps.clock.nowMs() };
    return (await this.#save(withHandle)) ?? withHandle;
  }

  async #attempt(state: RunState | Stop | 'capacity', remainingMs: number): Promise<AttemptResult> {
    if (typeof state === 'string') {
      return { stop: state };
    }
    const { runner, logs } = this.#deps;
    const jobId = this.#context.job.id;
    const handle = state.handle as string;
    const output = {
      stdout: await logs.open(jobId, 'stdout', state.stdoutStartBytes),
      stderr: await logs.open(jobId, 'stderr', state.stderrStartBytes),
    };
    const waitAbort = new AbortController();
    const waiting = runner.wait(handle, output, waitAbort.signal);
    let timer: NodeJS.Timeout | undefined;
    const walltime = new Promise<'walltime'>((resolve) => {
      if (remainingMs > 0) {
        timer = setTimeout(() => resolve('walltime'), Math.min(remainingMs, MAX_TIMER_MS));
      }
    });
    try {
      // A resumed container may have spent the budget while no worker watched it.
      const first =
        remainingMs <= 0
          ? { stop: 'walltime' as const }
          : await Promise.race([
              waiting.then((outcome) => ({ outcome })),
              Promise.race([walltime, this.#stopRequested]).then((stop) => ({ stop })),
            ]);
      if ('outcome' in first) {
        return first;
      }
      if (first.stop === 'walltime' || first.stop === 'deleted') {
        await runner.stop(handle, this.#options.stopGraceSeconds);
        return { outcome: await waiting, stop: first.stop };
      }
      waitAbort.abort();
      await waiting.catch(() => undefined);
      return { stop: first.stop };
    } catch (error) {
      if (error instanceof ImagePullError) {
        // An engine that pulls as it starts the task (Fargate) reports the failure here.
        const fields = { jobId, taskIndex: state.taskIndex, error: error.message };
        this.#deps.logger.warn('image pull failed', fields);
        await output.stderr.write(failureLine(error));
        return { stop: 'pull' };
      }
      if (error instanceof EngineUnavailableError) {
        throw error;
      }
      this.#deps.logger.error('task wait failed', { jobId, taskIndex: state.taskIndex, error });
      return { stop: 'engine' };
    } finally {
      clearTimeout(timer);
      await output.stdout.close();
      await output.stderr.close();
    }
  }

  /** How long the attempt's container has run already: a resumed one, since before a restart. */
  #runningMs(state: RunState | Stop | 'capacity'): number {
    if (typeof state === 'string' || state.startedAtMs === undefined) return 0;
    return Math.max(this.#deps.clock.nowMs() - state.startedAtMs, 0);
  }

  /** Writes run progress; a refused write means the job was deleted or taken over. */
  async #save(runState: RunState): Promise<Stop | undefined> {
    try {
      await this.#deps.store.update(
        this.#context.job.id,
        { status: 'running', workerId: this.#options.workerId },
        { runState, execution: this.#execution },
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof StaleJobStateError)) throw error;
      return (await this.#deps.store.get(this.#context.job.id))?.status === 'deleted'
        ? 'deleted'
        : 'lost';
    }
  }

  #recordOutcome(
    taskIndex: number,
    pulled: TaskExecution,
    outcome: TaskOutcome,
    attempt: number,
  ): void {
    const record: TaskExecution = {
      ...pulled,
      exitCode: outcome.exitCode,
      wallTimeUsage: outcome.wallTimeSeconds,
      retries: attempt,
    };
    if (outcome.imagePullSeconds !== undefined) record.imagePullTime = outcome.imagePullSeconds;
    if (outcome.cpuTimeSeconds !== undefined) record.cpuTimeUsage = outcome.cpuTimeSeconds;
    if (outcome.maxRssKB !== undefined) {
      record.maxResidentSetSizeKB = outcome.maxRssKB;
      this.#execution.maxMemoryUsageKB = Math.max(
        this.#execution.maxMemoryUsageKB ?? 0,
        outcome.maxRssKB,
      );
    }
    this.#execution.tasks[taskIndex] = record;
  }

  #endFor(stop: Stop | Hitch | 'walltime'): RunEnd {
    switch (stop) {
      case 'walltime':
        return this.#killed(STATUS_REASONS.walltimeExceeded);
      case 'engine':
        return this.#failed(STATUS_REASONS.engineFailed);
      case 'pull':
        return this.#failed(STATUS_REASONS.imagePullFailed);
      case 'capacity':
        return { kind: 'capacity', execution: this.#execution };
      case 'deleted':
        return { kind: 'deleted', execution: this.#execution };
      case 'lost':
        return { kind: 'lost' };
      case 'shutdown':
        return { kind: 'shutdown' };
    }
  }

  #failed(reason: string): RunEnd {
    return { kind: 'failed', reason, execution: this.#execution };
  }

  #killed(reason: string): RunEnd {
    return { kind: 'killed', reason, execution: this.#execution };
  }
}

/**
 * Status reasons are fixed ("Container image pull failed": clients match on them), so the
 * engine's own words go to the job's stderr, where `prominence stderr` shows them.
 */
function failureLine(error: Error): Buffer {
  return Buffer.from(`flare: ${error.message.trim().replace(/\s*\n\s*/g, ' ')}\n`);
}
