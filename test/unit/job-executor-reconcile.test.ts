import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobRecord, RunState } from '../../core/src/job-types';
import {
  ALICE,
  DeleteBeforeWriteStore,
  NOW_MS,
  NOW_SECONDS,
  PROVISIONED,
  setup,
  specWithTasks,
  WORKER_ID,
} from '../helpers/executor-harness';
import { buildJobRecord } from '../helpers/fakes';
import { buildJobSpec, buildResourcesInput } from '../helpers/job-builders';

describe('JobExecutor: job retries', () => {
  it('keeps a job deleted as its failed run ended deleted, instead of queueing it', async () => {
    // Prepare
    const store = new DeleteBeforeWriteStore('pending');
    const { queue, runner, queueJob, runNext } = setup({ store });
    runner.script('busybox', { oomKilled: true, exitCode: 137 });
    await queueJob(1, { spec: buildJobSpec({ policies: { maximumRetries: 1 } }) });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.statusReason, 'Job deleted by user');
    assert.equal(job?.execution?.tasks[0]?.exitCode, 137);
    assert.equal(job?.lease, undefined);
    assert.equal(job?.runState, undefined);
    assert.deepEqual(queue.sent, [1], 'the deleted job is not queued again');
    assert.deepEqual(runner.releases, [1]);
  });

  it('queues a killed run again when maximumRetries allows, then completes it', async () => {
    // Prepare
    const { store, queue, runner, queueJob, runNext } = setup();
    runner.script('busybox', { runs: [{ oomKilled: true, exitCode: 137 }, { exitCode: 0 }] });
    await queueJob(1, { spec: buildJobSpec({ policies: { maximumRetries: 1 } }) });

    // Act
    await runNext();
    const afterFirstRun = store.peek(1);
    await runNext();

    // Assess
    assert.equal(afterFirstRun?.status, 'pending');
    assert.equal(afterFirstRun?.endTime, undefined);
    assert.equal(afterFirstRun?.lease, undefined);
    assert.equal(afterFirstRun?.execution?.retries, 1);
    assert.deepEqual(queue.sent, [1, 1]);
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.equal(job?.attempt, 2);
    assert.equal(job?.execution?.retries, 1);
    assert.deepEqual(job?.execution?.tasks, [
      { imagePullStatus: 'cached', exitCode: 0, wallTimeUsage: 1, retries: 0 },
    ]);
    assert.deepEqual(runner.releases, [1, 1]);
  });

  it('counts maximumTimeInQueue for a retry from when it was queued again', async () => {
    // Prepare
    const { store, runner, clock, executor, queueJob, acceptNext, runNext } = setup();
    runner.script('busybox', { runs: [{ oomKilled: true, runMs: 20 }, { exitCode: 0 }] });
    const policies = { maximumRetries: 1, maximumTimeInQueue: 10 };
    await queueJob(1, { spec: buildJobSpec({ policies }), createTime: NOW_SECONDS });
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);
    clock.advance(2 * 60 * 60_000);

    // Act
    await executor.drain();
    await runNext();

    // Assess
    assert.equal(store.peek(1)?.statusReason, undefined);
    assert.equal(store.peek(1)?.status, 'completed');
  });

  it('ends a job with its last failure once maximumRetries are used up', async () => {
    // Prepare
    const { store, queue, runner, queueJob, runNext } = setup();
    runner.script('busybox', { oomKilled: true, exitCode: 137 });
    await queueJob(1, { spec: buildJobSpec({ policies: { maximumRetries: 1 } }) });

    // Act
    await runNext();
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'killed');
    assert.equal(job?.statusReason, 'Job used too much memory');
    assert.equal(job?.attempt, 2);
    assert.equal(job?.execution?.retries, 1);
    assert.deepEqual(queue.sent, [1, 1]);
    assert.equal(queue.visibleCount, 0);
  });
});

describe('JobExecutor.reconcile', () => {
  const FIRST_TASK = { imagePullStatus: 'completed', exitCode: 0, wallTimeUsage: 5, retries: 0 };

  /** A two-task job whose worker stopped during its second task, after 'sec' of its output. */
  async function strandedJob(
    context: ReturnType<typeof setup>,
    lease: { readonly workerId: string; readonly expiresAtMs: number },
    options: { readonly walltime?: number; readonly startedAtMs?: number } = {},
  ): Promise<JobRecord> {
    const runState: RunState = {
      taskIndex: 1,
      taskAttempt: 0,
      handle: 'old-container',
      walltimeUsedMs: 5_000,
      stdoutStartBytes: 6,
      stderrStartBytes: 0,
      ...(options.startedAtMs === undefined ? {} : { startedAtMs: options.startedAtMs }),
    };
    const { walltime } = options;
    const resources =
      walltime === undefined ? {} : { resources: buildResourcesInput({ walltime }) };
    const job = buildJobRecord(1, {
      spec: specWithTasks(['first-image', 'second-image'], resources),
      status: 'running',
      startTime: NOW_SECONDS - 100,
      attempt: 1,
      lease,
      runState,
      execution: {
        site: 'local:fake',
        provisionedResources: PROVISIONED,
        tasks: [{ ...FIRST_TASK, imagePullStatus: 'completed' }, { imagePullStatus: 'cached' }],
      },
    });
    await context.store.create(job);
    context.logs.seed(1, 'stdout', 'first\nsec');
    return job;
  }

  const expired = { workerId: 'worker-0', expiresAtMs: NOW_MS - 1 };

  it('takes over a job whose lease expired and waits on its still-running container', async () => {
    // Prepare
    const context = setup();
    const { store, logs, runner, executor, shutdown } = context;
    await strandedJob(context, expired);
    const task = { jobId: 1, taskIndex: 1, taskAttempt: 0 };
    runner.seedTask(task, { stdout: ['second\n'], wallTimeSeconds: 2 }, 'old-container');

    // Act
    const resumed = await executor.reconcile(shutdown.signal);
    await executor.drain();

    // Assess
    assert.equal(resumed, 1);
    assert.deepEqual(store.updates[0]?.expected, { status: 'running', workerId: 'worker-0' });
    assert.deepEqual(runner.starts, [], 'the container is not started again');
    assert.deepEqual(runner.waits, ['old-container']);
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.equal(job?.attempt, 1);
    assert.equal(job?.lease, undefined);
    assert.deepEqual(job?.execution?.tasks, [
      FIRST_TASK,
      { imagePullStatus: 'cached', exitCode: 0, wallTimeUsage: 2, retries: 0 },
    ]);
    assert.equal(logs.text(1, 'stdout'), 'first\nsecond\n', 'the partial output is replaced');
  });

  it('starts the task again when the stranded container is gone', async () => {
    // Prepare
    const context = setup();
    const { store, logs, runner, executor, shutdown } = context;
    await strandedJob(context, expired);
    runner.script('second-image', { stdout: ['second\n'] });

    // Act
    const resumed = await executor.reconcile(shutdown.signal);
    await executor.drain();

    // Assess
    assert.equal(resumed, 1);
    assert.deepEqual(
      runner.starts.map((launch) => [launch.image, launch.taskIndex, launch.taskAttempt]),
      [['second-image', 1, 0]],
    );
    assert.equal(store.peek(1)?.status, 'completed');
    assert.deepEqual(store.peek(1)?.execution?.tasks[0], FIRST_TASK);
    assert.equal(logs.text(1, 'stdout'), 'first\nsecond\n');
  });

  it('leaves alone a job whose lease another worker still holds', async () => {
    // Prepare
    const context = setup();
    const { store, runner, executor, shutdown } = context;
    const job = await strandedJob(context, { workerId: 'worker-0', expiresAtMs: NOW_MS + 1 });

    // Act
    const resumed = await executor.reconcile(shutdown.signal);

    // Assess
    assert.equal(resumed, 0);
    assert.deepEqual(store.peek(1), job);
    assert.deepEqual(store.updates, []);
    assert.deepEqual(runner.waits, []);
  });

  it('resumes at once a job whose live lease names this worker', async () => {
    // Prepare
    const context = setup();
    const { store, runner, executor, shutdown } = context;
    await strandedJob(context, { workerId: WORKER_ID, expiresAtMs: NOW_MS + 30_000 });
    const task = { jobId: 1, taskIndex: 1, taskAttempt: 0 };
    runner.seedTask(task, { stdout: ['second\n'] }, 'old-container');

    // Act
    const resumed = await executor.reconcile(shutdown.signal);
    await executor.drain();

    // Assess
    assert.equal(resumed, 1);
    assert.deepEqual(runner.starts, []);
    assert.equal(store.peek(1)?.status, 'completed');
  });

  it('skips a job this executor is running', async () => {
    // Prepare
    const { runner, service, executor, shutdown, acceptNext, queueJob } = setup();
    runner.script('busybox', { untilStopped: true });
    await queueJob(1);
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);

    // Act
    const resumed = await executor.reconcile(shutdown.signal);

    // Assess
    assert.equal(resumed, 0);
    assert.equal(runner.starts.length, 1);
    await service.delete(ALICE, [1]);
    await executor.drain();
  });

  it('resumes after a restart the job that the same worker left at shutdown', async () => {
    // Prepare
    const context = setup();
    const { store, runner, executor, executorFor, shutdown, acceptNext, queueJob } = context;
    runner.script('busybox', { untilStopped: true, stdout: ['once\n'] });
    await queueJob(1);
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);
    shutdown.abort();
    await executor.drain();
    const restarted = executorFor(WORKER_ID);
    const handle = runner.waits[0] ?? '';

    // Act
    const resumed = await restarted.reconcile(new AbortController().signal);
    await runner.until(() => runner.waits.length === 2);
    await runner.stop(handle, 0);
    await restarted.drain();

    // Assess
    assert.equal(resumed, 1);
    assert.equal(runner.starts.length, 1);
    assert.deepEqual(runner.waits, [handle, handle]);
    assert.equal(store.peek(1)?.status, 'completed');
    assert.equal(context.logs.text(1, 'stdout'), 'once\n');
  });

  it('kills at once a resumed job whose container ran past the walltime unwatched', async (t) => {
    // Prepare: 5 s of earlier tasks and 55 s of this container spend the 1-minute walltime.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const context = setup();
    const { store, runner, executor, shutdown } = context;
    await strandedJob(context, expired, { walltime: 1, startedAtMs: NOW_MS - 55_000 });
    const task = { jobId: 1, taskIndex: 1, taskAttempt: 0 };
    runner.seedTask(task, { untilStopped: true, wallTimeSeconds: 55 }, 'old-container');

    // Act: no timer is ticked, so only a stop that needs none can happen.
    await executor.reconcile(shutdown.signal);
    await new Promise(setImmediate);
    const stoppedAtOnce = runner.stops.length;
    await executor.drain();

    // Assess
    assert.equal(stoppedAtOnce, 1);
    assert.deepEqual(runner.stops, [{ handle: 'old-container', graceSeconds: 1 }]);
    assert.deepEqual(runner.starts, []);
    const job = store.peek(1);
    assert.equal(job?.status, 'killed');
    assert.equal(job?.statusReason, 'Walltime limit exceeded');
    assert.equal(job?.execution?.tasks[1]?.exitCode, 143);
    assert.deepEqual(runner.releases, [1]);
  });

  it('takes the outcome of a resumed container that exited, however long ago it started', async () => {
    // Prepare
    const context = setup();
    const { store, runner, executor, shutdown } = context;
    await strandedJob(context, expired, { walltime: 1, startedAtMs: NOW_MS - 3_600_000 });
    const task = { jobId: 1, taskIndex: 1, taskAttempt: 0 };
    runner.seedTask(task, { exitCode: 0, wallTimeSeconds: 20 }, 'old-container');

    // Act
    await executor.reconcile(shutdown.signal);
    await executor.drain();

    // Assess
    assert.deepEqual(runner.stops, []);
    assert.equal(store.peek(1)?.status, 'completed');
    assert.equal(store.peek(1)?.execution?.tasks[1]?.wallTimeUsage, 20);
  });

  it('counts the time its container ran before a restart against the walltime', async (t) => {
    // Prepare: the worker stops 45 s into a 1-minute job whose container keeps running.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const context = setup();
    const { store, runner, clock, executor, executorFor, shutdown, acceptNext, queueJob } = context;
    runner.script('busybox', { untilStopped: true, wallTimeSeconds: 60 });
    await queueJob(1, { spec: buildJobSpec({ resources: buildResourcesInput({ walltime: 1 }) }) });
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);
    shutdown.abort();
    await executor.drain();
    clock.advance(45_000);
    const restarted = executorFor(WORKER_ID);

    // Act
    await restarted.reconcile(new AbortController().signal);
    await runner.until(() => runner.waits.length === 2);
    t.mock.timers.tick(14_999);
    await new Promise(setImmediate);
    const stoppedEarly = runner.stops.length;
    t.mock.timers.tick(1);
    await restarted.drain();

    // Assess
    assert.equal(stoppedEarly, 0);
    assert.equal(runner.starts.length, 1);
    assert.equal(runner.stops.length, 1);
    assert.equal(store.peek(1)?.status, 'killed');
    assert.equal(store.peek(1)?.statusReason, 'Walltime limit exceeded');
  });
});
