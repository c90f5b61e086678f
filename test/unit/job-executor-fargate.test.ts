import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CapacityError, ImagePullError } from '../../core/src/errors';
import { JobExecutor, type JobExecutorOptions } from '../../core/src/execution/job-executor';
import type { JobRecord } from '../../core/src/job-types';
import type { TaskLaunch } from '../../core/src/ports';
import {
  buildJobRecord,
  FakeTaskRunner,
  InMemoryJobQueue,
  InMemoryJobStore,
  InMemoryLogStore,
  ManualClock,
  silentLogger,
  TEST_EPOCH_MS,
} from '../helpers/fakes';
import { buildJobSpec, buildTaskInput } from '../helpers/job-builders';

const NOW_MS = TEST_EPOCH_MS + 60_000;

const OPTIONS: JobExecutorOptions = {
  workerId: 'worker-1',
  leaseDurationMs: 60_000,
  statusPollIntervalMs: 20,
  stopGraceSeconds: 1,
  capacityWaitSeconds: 90,
};

const NO_ROOM = new CapacityError('Fargate refused the task 6 times: Capacity is unavailable');

/** A runner whose starts keep retrying until their signal is aborted. */
class RetryingStartRunner extends FakeTaskRunner {
  override async start(launch: TaskLaunch, signal?: AbortSignal): Promise<string> {
    this.starts.push(launch);
    await new Promise((_, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    throw new Error('unreachable');
  }
}

/** The executor on in-memory ports, with a runner that behaves as the ECS runner does. */
function setup(runner = new FakeTaskRunner()) {
  const store = new InMemoryJobStore();
  const queue = new InMemoryJobQueue();
  const logs = new InMemoryLogStore();
  const clock = new ManualClock(NOW_MS);
  const executor = new JobExecutor(
    { store, queue, runner, logs, clock, logger: silentLogger() },
    OPTIONS,
  );
  const shutdown = new AbortController();
  const queueJob = async (id: number, overrides: Partial<JobRecord> = {}) => {
    await store.create(buildJobRecord(id, overrides));
    await queue.send(id);
  };
  /** Hands the one visible message to the executor and waits until its run has ended. */
  const runNext = async () => {
    await executor.accept(await queue.receiveOne(), shutdown.signal);
    await executor.drain();
  };
  return { store, queue, logs, runner, executor, shutdown, queueJob, runNext };
}

const twoTasks = buildJobSpec({
  tasks: [buildTaskInput({ image: 'first' }), buildTaskInput({ image: 'second' })],
});

describe('JobExecutor: facts of engines that pull as they start', () => {
  it('fails the job with "Container image pull failed" when the wait reports the pull failed', async () => {
    // Prepare
    const { store, logs, runner, queueJob, runNext } = setup();
    runner.script('nosuch', { waitError: new ImagePullError('CannotPullContainerError: nope') });
    await queueJob(1, { spec: buildJobSpec({ tasks: [buildTaskInput({ image: 'nosuch' })] }) });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.statusReason, 'Container image pull failed');
    assert.deepEqual(job?.execution?.tasks, [{ imagePullStatus: 'failed' }]);
    assert.equal(logs.text(1, 'stderr'), 'flare: CannotPullContainerError: nope\n');
    assert.deepEqual(runner.releases, [1]);
  });

  it('records the pull time the outcome reports as the task image pull time', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('busybox', { pull: { status: 'completed' }, imagePullSeconds: 6.5 });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.deepEqual(job?.execution?.tasks, [
      {
        imagePullStatus: 'completed',
        imagePullTime: 6.5,
        exitCode: 0,
        wallTimeUsage: 1,
        retries: 0,
      },
    ]);
  });
});

describe('JobExecutor: waiting for capacity', () => {
  it('puts a job whose task found no room back to pending, and sends it again later', async () => {
    // Prepare
    const { store, queue, runner, queueJob, runNext } = setup();
    runner.script('busybox', { runs: [{ startError: NO_ROOM }, {}] });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'pending');
    assert.equal(job?.statusReason, 'Waiting for capacity');
    assert.equal(job?.attempt, 0, 'a start that never happened is not an attempt');
    assert.equal(job?.lease, undefined);
    assert.deepEqual(job?.runState, {
      taskIndex: 0,
      taskAttempt: 0,
      walltimeUsedMs: 0,
      stdoutStartBytes: 0,
      stderrStartBytes: 0,
    });
    assert.deepEqual(queue.delayedSends, [{ jobId: 1, delaySeconds: 90 }]);
    assert.equal(queue.visibleCount, 0);
    assert.deepEqual(runner.releases, [], 'nothing of the job ran, so nothing is released');
  });

  it('runs the job once its delay has passed, clearing the reason', async () => {
    // Prepare
    const { store, queue, runner, queueJob, runNext } = setup();
    runner.script('busybox', { runs: [{ startError: NO_ROOM }, { stdout: ['hello\n'] }] });
    await queueJob(1);
    await runNext();

    // Act
    queue.releaseDelayed();
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.equal(job?.statusReason, undefined);
    assert.equal(job?.attempt, 1);
    assert.equal(job?.execution?.retries, undefined);
    assert.deepEqual(
      job?.execution?.tasks.map((task) => task.exitCode),
      [0],
    );
    assert.equal(runner.starts.length, 2);
  });

  it('resumes at the task that found no room, not at the first task', async () => {
    // Prepare
    const { store, queue, logs, runner, queueJob, runNext } = setup();
    runner.script('first', { stdout: ['one\n'], exitCode: 0 });
    runner.script('second', { runs: [{ startError: NO_ROOM }, { stdout: ['two\n'] }] });
    await queueJob(1, { spec: twoTasks });
    await runNext();

    // Act
    queue.releaseDelayed();
    await runNext();

    // Assess
    assert.deepEqual(
      runner.starts.map((launch) => [launch.image, launch.taskIndex]),
      [
        ['first', 0],
        ['second', 1],
        ['second', 1],
      ],
    );
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.deepEqual(
      job?.execution?.tasks.map((task) => task.exitCode),
      [0, 0],
    );
    assert.equal(logs.text(1, 'stdout'), 'one\ntwo\n');
  });

  it('keeps waiting while the engine has no room, without using up job retries', async () => {
    // Prepare
    const { store, queue, runner, queueJob, runNext } = setup();
    runner.script('busybox', { runs: [{ startError: NO_ROOM }, { startError: NO_ROOM }, {}] });
    await queueJob(1);

    // Act
    await runNext();
    queue.releaseDelayed();
    await runNext();
    const waitingAgain = store.peek(1);
    queue.releaseDelayed();
    await runNext();

    // Assess
    assert.equal(waitingAgain?.status, 'pending');
    assert.equal(waitingAgain?.statusReason, 'Waiting for capacity');
    assert.equal(queue.delayedSends.length, 2);
    assert.equal(store.peek(1)?.status, 'completed');
    assert.equal(store.peek(1)?.attempt, 1);
  });

  it('skips a job deleted while it waited for capacity', async () => {
    // Prepare
    const { store, queue, runner, queueJob, runNext } = setup();
    runner.script('busybox', { runs: [{ startError: NO_ROOM }, {}] });
    await queueJob(1);
    await runNext();
    await store.update(
      1,
      { status: 'pending' },
      { status: 'deleted', statusReason: 'Job deleted by user', endTime: 1, inQueue: false },
    );

    // Act
    queue.releaseDelayed();
    await runNext();

    // Assess
    assert.equal(store.peek(1)?.status, 'deleted');
    assert.equal(runner.starts.length, 1);
    assert.equal(queue.inFlightCount, 0);
  });

  it('gives up a start still retrying when the job is deleted', async () => {
    // Prepare
    const { store, queue, runner, executor, shutdown, queueJob } = setup(new RetryingStartRunner());
    await queueJob(1);
    await executor.accept(await queue.receiveOne(), shutdown.signal);
    while (runner.starts.length === 0) await delay(5);

    // Act
    await store.update(
      1,
      { status: 'running' },
      { status: 'deleted', statusReason: 'Job deleted by user', endTime: 1, inQueue: false },
    );
    await executor.drain();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.lease, undefined);
    assert.deepEqual(queue.delayedSends, []);
    assert.deepEqual(runner.releases, [1]);
  });
});
