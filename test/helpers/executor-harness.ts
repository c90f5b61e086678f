// What the executor's test files share: a wired executor over in-memory fakes, and helpers.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { JobExecutor, type JobExecutorOptions } from '../../core/src/execution/job-executor';
import type { JobStatus } from '../../core/src/job-states';
import type { Identity, JobChanges, JobExpectation, JobRecord } from '../../core/src/job-types';
import { JobService } from '../../core/src/jobs/job-service';
import type { RunnerCapacity } from '../../core/src/ports';
import {
  buildJobRecord,
  FakeTaskRunner,
  InMemoryJobQueue,
  InMemoryJobStore,
  InMemoryLogStore,
  ManualClock,
  silentLogger,
  TEST_EPOCH_MS,
} from './fakes';
import { buildJobSpec, buildTaskInput } from './job-builders';

export const ALICE: Identity = { username: 'alice', groups: ['physics'] };
export const WORKER_ID = 'worker-1';
export const NOW_MS = TEST_EPOCH_MS + 60_000;
export const NOW_SECONDS = NOW_MS / 1000;

export const OPTIONS: JobExecutorOptions = {
  workerId: WORKER_ID,
  leaseDurationMs: 60_000,
  statusPollIntervalMs: 20,
  stopGraceSeconds: 1,
};

/** What a one-core, 1 GB job is given on the fake engine. */
export const PROVISIONED = { cpus: 1, memory: 1, disk: 10, nodes: 1 };

export interface SetupOptions {
  readonly capacity?: RunnerCapacity;
  readonly store?: InMemoryJobStore;
}

export function setup(options: SetupOptions = {}) {
  const store = options.store ?? new InMemoryJobStore();
  const queue = new InMemoryJobQueue();
  const logs = new InMemoryLogStore();
  const runner = new FakeTaskRunner(options.capacity ? { capacity: options.capacity } : {});
  const clock = new ManualClock(NOW_MS);
  const logger = silentLogger();
  const deps = { store, queue, runner, logs, clock, logger };
  const executorFor = (workerId: string) => new JobExecutor(deps, { ...OPTIONS, workerId });
  const executor = executorFor(WORKER_ID);
  const service = new JobService({ store, queue, logs, clock, logger });
  const shutdown = new AbortController();

  /** Stores a pending job as submit does and queues it. */
  const queueJob = async (id: number, overrides: Partial<JobRecord> = {}) => {
    await store.create(buildJobRecord(id, overrides));
    await queue.send(id);
  };
  /** Hands the one queued message to the executor; returns once the run has started. */
  const acceptNext = async () => executor.accept(await queue.receiveOne(), shutdown.signal);
  /** Hands the one queued message to the executor and waits until its run has ended. */
  const runNext = async () => {
    await acceptNext();
    await executor.drain();
  };
  return {
    ...deps,
    executor,
    executorFor,
    service,
    shutdown,
    queueJob,
    acceptNext,
    runNext,
  };
}

export function specWithTasks(images: readonly string[], extra: Record<string, unknown> = {}) {
  return buildJobSpec({ tasks: images.map((image) => buildTaskInput({ image })), ...extra });
}

/**
 * A store where the user deletes the job just before the executor writes `status` to it:
 * the narrowest window a delete can hit at the end of a run.
 */
export class DeleteBeforeWriteStore extends InMemoryJobStore {
  readonly #status: JobStatus;

  constructor(status: JobStatus) {
    super();
    this.#status = status;
  }

  override async update(
    id: number,
    expected: JobExpectation,
    changes: JobChanges,
    signal?: AbortSignal,
  ): Promise<JobRecord> {
    if (changes.status === this.#status && expected.status === 'running') {
      await super.update(id, expected, {
        status: 'deleted',
        statusReason: 'Job deleted by user',
        endTime: NOW_SECONDS,
        inQueue: false,
      });
    }
    return super.update(id, expected, changes, signal);
  }
}

/** Polls `check` on real time until it holds; for what the executor does on its own timers. */
export async function eventually(check: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${timeoutMs} ms`);
    await delay(5);
  }
}
