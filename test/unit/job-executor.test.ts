import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { DockerUnreachableError } from '../../adapters/docker/docker-client';
import { EngineUnavailableError, ImagePullError, TaskRunnerError } from '../../core/src/errors';
import { JobExecutor, type JobExecutorOptions } from '../../core/src/execution/job-executor';
import type { JobStatus } from '../../core/src/job-states';
import type {
  Identity,
  JobChanges,
  JobExecution,
  JobExpectation,
  JobRecord,
  RunState,
} from '../../core/src/job-types';
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
} from '../helpers/fakes';
import { buildJobSpec, buildResourcesInput, buildTaskInput } from '../helpers/job-builders';

const ALICE: Identity = { username: 'alice', groups: ['physics'] };
const WORKER_ID = 'worker-1';
const NOW_MS = TEST_EPOCH_MS + 60_000;
const NOW_SECONDS = NOW_MS / 1000;

const OPTIONS: JobExecutorOptions = {
  workerId: WORKER_ID,
  leaseDurationMs: 60_000,
  statusPollIntervalMs: 20,
  stopGraceSeconds: 1,
};

/** What a one-core, 1 GB job is given on the fake engine. */
const PROVISIONED = { cpus: 1, memory: 1, disk: 10, nodes: 1 };

interface SetupOptions {
  readonly capacity?: RunnerCapacity;
  readonly store?: InMemoryJobStore;
}

function setup(options: SetupOptions = {}) {
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

function specWithTasks(images: readonly string[], extra: Record<string, unknown> = {}) {
  return buildJobSpec({ tasks: images.map((image) => buildTaskInput({ image })), ...extra });
}

/**
 * A store where the user deletes the job just before the executor writes `status` to it:
 * the narrowest window a delete can hit at the end of a run.
 */
class DeleteBeforeWriteStore extends InMemoryJobStore {
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
async function eventually(check: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${timeoutMs} ms`);
    await delay(5);
  }
}

describe('JobExecutor: a run', () => {
  it('runs a job to completed and records what its run learnt', async () => {
    // Prepare
    const { store, logs, runner, clock, queue, queueJob, acceptNext, executor } = setup();
    runner.script('busybox', {
      pull: { status: 'completed', pullTimeSeconds: 2.5, imageSha256: 'sha256:abc' },
      stdout: ['hello\n', 'world\n'],
      stderr: ['careful\n'],
      wallTimeSeconds: 3,
      cpuTimeSeconds: 1.5,
      maxRssKB: 2048,
      runMs: 30,
    });
    await queueJob(1);

    // Act
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);
    clock.advance(3_000);
    await executor.drain();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.equal(job?.statusReason, undefined);
    assert.equal(job?.startTime, NOW_SECONDS);
    assert.equal(job?.endTime, NOW_SECONDS + 3);
    assert.equal(job?.inQueue, false);
    assert.equal(job?.attempt, 1);
    assert.equal(job?.lease, undefined);
    assert.equal(job?.runState, undefined);
    assert.deepEqual(job?.execution, {
      site: 'local:fake',
      provisionedResources: PROVISIONED,
      maxMemoryUsageKB: 2048,
      tasks: [
        {
          imagePullStatus: 'completed',
          imagePullTime: 2.5,
          imageSha256: 'sha256:abc',
          exitCode: 0,
          wallTimeUsage: 3,
          cpuTimeUsage: 1.5,
          maxResidentSetSizeKB: 2048,
          retries: 0,
        },
      ],
    } satisfies JobExecution);
    assert.equal(logs.text(1, 'stdout'), 'hello\nworld\n');
    assert.equal(logs.text(1, 'stderr'), 'careful\n');
    assert.equal(queue.inFlightCount, 0);
    assert.equal(queue.acked.length, 1);
    assert.deepEqual(runner.releases, [1]);
  });

  it('launches a task with its command, workdir, resources and environment', async () => {
    // Prepare
    const { runner, queueJob, runNext } = setup();
    const spec = buildJobSpec({
      resources: buildResourcesInput({ cpus: 2, memory: 3 }),
      tasks: [buildTaskInput({ cmd: 'echo $GREETING', workdir: 'run', env: { GREETING: 'hi' } })],
    });
    await queueJob(7, { spec });

    // Act
    await runNext();

    // Assess
    const [launch] = runner.starts;
    assert.equal(launch?.jobId, 7);
    assert.equal(launch?.image, 'busybox');
    assert.deepEqual(launch?.command, ['/bin/sh', '-c', 'echo $GREETING']);
    assert.equal(launch?.workdir, '/home/user/run');
    assert.equal(launch?.cpus, 2);
    assert.equal(launch?.memoryMiB, 3072);
    assert.equal(launch?.env.GREETING, 'hi');
    assert.equal(launch?.env.PROMINENCE_JOB_ID, '7');
    assert.equal(launch?.env.PROMINENCE_CPUS, '2');
    assert.equal(launch?.env.PROMINENCE_TASK_NUM, '0');
  });

  it('runs a job delivered twice only once', async () => {
    // Prepare
    const { store, queue, runner, executor, shutdown, queueJob } = setup();
    runner.script('busybox', { runMs: 30 });
    await queueJob(1);
    await queue.send(1);
    const messages = await queue.receive({ maxMessages: 10, waitTimeSeconds: 0 });

    // Act
    for (const message of messages) await executor.accept(message, shutdown.signal);
    await executor.drain();

    // Assess
    assert.equal(messages.length, 2);
    assert.equal(runner.starts.length, 1);
    assert.equal(store.peek(1)?.status, 'completed');
    assert.equal(store.peek(1)?.attempt, 1);
    assert.equal(queue.acked.length, 2);
    assert.equal(queue.inFlightCount, 0);
  });

  it('acknowledges a job deleted while queued without running it', async () => {
    // Prepare
    const { store, queue, runner, service, queueJob, runNext } = setup();
    await queueJob(1);
    await service.delete(ALICE, [1]);

    // Act
    await runNext();

    // Assess
    assert.deepEqual(runner.pulls, []);
    assert.deepEqual(runner.starts, []);
    assert.equal(store.peek(1)?.status, 'deleted');
    assert.equal(store.peek(1)?.attempt, 0);
    assert.equal(queue.inFlightCount, 0);
  });

  const misfits: readonly (readonly [string, Record<string, unknown>])[] = [
    ['more cores', { cpus: 4, memory: 1 }],
    ['more memory', { cpus: 1, memory: 5 }],
  ];
  for (const [what, resources] of misfits) {
    it(`fails a job asking for ${what} than the engine has: "No matching resources"`, async () => {
      // Prepare
      const capacity = { site: 'local:small', cpus: 2, memoryMiB: 4096 };
      const { store, queue, runner, queueJob, runNext } = setup({ capacity });
      await queueJob(1, { spec: buildJobSpec({ resources: buildResourcesInput(resources) }) });

      // Act
      await runNext();

      // Assess
      const job = store.peek(1);
      assert.equal(job?.status, 'failed');
      assert.equal(job?.statusReason, 'No matching resources');
      assert.equal(job?.endTime, NOW_SECONDS);
      assert.equal(job?.inQueue, false);
      assert.deepEqual(runner.pulls, []);
      assert.equal(queue.inFlightCount, 0);
    });
  }

  it('fails a job that waited in the queue longer than maximumTimeInQueue', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    const spec = buildJobSpec({ policies: { maximumTimeInQueue: 1 } });
    await queueJob(1, { spec, createTime: NOW_SECONDS - 61 });

    // Act
    await runNext();

    // Assess
    assert.equal(store.peek(1)?.status, 'failed');
    assert.equal(store.peek(1)?.statusReason, 'Maximum time queued was exceeded');
    assert.deepEqual(runner.starts, []);
  });
});

describe('JobExecutor: task outcomes', () => {
  it('completes a job whose task exits non-zero, and runs no later task', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('failing', { exitCode: 3, wallTimeSeconds: 2 });
    await queueJob(1, { spec: specWithTasks(['failing', 'second']) });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.equal(job?.statusReason, undefined);
    assert.deepEqual(job?.execution?.tasks, [
      { imagePullStatus: 'cached', exitCode: 3, wallTimeUsage: 2, retries: 0 },
    ]);
    assert.deepEqual(
      runner.starts.map((launch) => launch.image),
      ['failing'],
    );
    assert.deepEqual(
      runner.pulls.map((pull) => pull.image),
      ['failing'],
    );
  });

  it('runs the later tasks after a failing one when ignoreTaskFailures is set', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('failing', { exitCode: 3 });
    const spec = specWithTasks(['failing', 'second'], { policies: { ignoreTaskFailures: true } });
    await queueJob(1, { spec });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.deepEqual(
      job?.execution?.tasks.map((task) => task.exitCode),
      [3, 0],
    );
    assert.deepEqual(
      runner.starts.map((launch) => [launch.image, launch.taskIndex]),
      [
        ['failing', 0],
        ['second', 1],
      ],
    );
  });

  it('retries a failing task up to maximumTaskRetries and records the retries', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('flaky', { runs: [{ exitCode: 1 }, { exitCode: 1 }, { exitCode: 0 }] });
    const spec = specWithTasks(['flaky'], { policies: { maximumTaskRetries: 2 } });
    await queueJob(1, { spec });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.deepEqual(
      runner.starts.map((launch) => launch.taskAttempt),
      [0, 1, 2],
    );
    assert.equal(runner.pulls.length, 1, 'the image is pulled once for all attempts');
    assert.deepEqual(job?.execution?.tasks, [
      { imagePullStatus: 'cached', exitCode: 0, wallTimeUsage: 1, retries: 2 },
    ]);
  });

  it('completes with the last exit code once the task retries are used up', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('broken', { exitCode: 2 });
    const spec = specWithTasks(['broken', 'after'], { policies: { maximumTaskRetries: 1 } });
    await queueJob(1, { spec });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.equal(runner.starts.length, 2);
    assert.deepEqual(job?.execution?.tasks, [
      { imagePullStatus: 'cached', exitCode: 2, wallTimeUsage: 1, retries: 1 },
    ]);
  });

  it('fails a job whose image cannot be pulled with "Container image pull failed"', async () => {
    // Prepare
    const { store, logs, runner, queueJob, runNext } = setup();
    runner.script('no-such-image', { pull: new ImagePullError('manifest unknown') });
    await queueJob(1, { spec: specWithTasks(['no-such-image']) });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.statusReason, 'Container image pull failed');
    assert.equal(job?.endTime, NOW_SECONDS);
    assert.deepEqual(job?.execution?.tasks, [{ imagePullStatus: 'failed' }]);
    assert.equal(logs.text(1, 'stderr'), 'flare: manifest unknown\n');
    assert.deepEqual(runner.starts, []);
    assert.deepEqual(runner.releases, [1]);
  });

  it('kills a job that ran out of memory with "Job used too much memory"', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('busybox', { oomKilled: true, exitCode: 137, maxRssKB: 1_048_576 });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'killed');
    assert.equal(job?.statusReason, 'Job used too much memory');
    assert.equal(job?.execution?.maxMemoryUsageKB, 1_048_576);
  });

  it('fails a job whose container the engine lost', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('busybox', { waitError: new TaskRunnerError('container vanished') });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    assert.equal(store.peek(1)?.status, 'failed');
    assert.equal(store.peek(1)?.statusReason, 'Unable to run the job on the container engine');
    assert.deepEqual(runner.releases, [1]);
  });
});

describe('JobExecutor: engine errors', () => {
  it('fails a job whose container the engine refuses to start, and lets go of it', async (t) => {
    // Prepare
    const { store, logs, logger, runner, executor, shutdown, queueJob, runNext } = setup();
    const logged = t.mock.method(logger, 'error');
    const refusal = 'crun: memory limit 1048576 is too low: OCI runtime error (HTTP 500)';
    runner.script('busybox', { startError: new TaskRunnerError(refusal) });
    await queueJob(1);

    // Act
    await runNext();
    const resumed = await executor.reconcile(shutdown.signal);

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.statusReason, 'Unable to run the job on the container engine');
    assert.equal(job?.endTime, NOW_SECONDS);
    assert.equal(job?.inQueue, false);
    assert.equal(job?.lease, undefined);
    assert.equal(job?.runState, undefined);
    assert.deepEqual(job?.execution?.tasks, [{ imagePullStatus: 'cached' }]);
    assert.equal(logs.text(1, 'stderr'), `flare: ${refusal}\n`);
    assert.deepEqual(runner.releases, [1]);
    assert.equal(logged.mock.callCount(), 1);
    assert.equal(resumed, 0);
    assert.equal(runner.starts.length, 1, 'no worker takes the failed job over');
  });

  it('fails a job whose image the engine errs on, other than by a failed pull', async () => {
    // Prepare
    const { store, logs, runner, queueJob, runNext } = setup();
    const answer = 'GET /images/busybox/json: short-name resolution failed (HTTP 500)';
    runner.script('busybox', { pull: new TaskRunnerError(answer) });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.statusReason, 'Unable to run the job on the container engine');
    assert.deepEqual(job?.execution?.tasks, []);
    assert.equal(logs.text(1, 'stderr'), `flare: ${answer}\n`);
    assert.deepEqual(runner.starts, []);
    assert.deepEqual(runner.releases, [1]);
  });

  it('puts a multi-line engine message on one line of the stderr', async () => {
    // Prepare
    const { logs, runner, queueJob, runNext } = setup();
    runner.script('busybox', { startError: new TaskRunnerError('workdir:\n  not a directory\n') });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    assert.equal(logs.text(1, 'stderr'), 'flare: workdir: not a directory\n');
  });

  it('keeps the facts on a job deleted as its engine error ended the run', async () => {
    // Prepare
    const store = new DeleteBeforeWriteStore('failed');
    const { runner, queueJob, runNext } = setup({ store });
    runner.script('busybox', { startError: new TaskRunnerError('no such file (HTTP 500)') });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.statusReason, 'Job deleted by user');
    assert.deepEqual(job?.execution?.tasks, [{ imagePullStatus: 'cached' }]);
    assert.equal(job?.lease, undefined);
    assert.equal(job?.runState, undefined);
    assert.deepEqual(runner.releases, [1]);
  });

  it('leaves a job running, and its volume, while the engine cannot be reached', async (t) => {
    // Prepare
    const { store, logs, logger, runner, queueJob, runNext } = setup();
    const errors = t.mock.method(logger, 'error');
    const warnings = t.mock.method(logger, 'warn');
    const down = new DockerUnreachableError(
      'Container engine unreachable (POST /containers/create)',
    );
    runner.script('busybox', { startError: down });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    assert.ok(down instanceof EngineUnavailableError);
    const job = store.peek(1);
    assert.equal(job?.status, 'running');
    assert.equal(job?.statusReason, undefined);
    assert.equal(job?.lease?.workerId, WORKER_ID);
    assert.equal(job?.runState?.taskIndex, 0);
    assert.equal(logs.text(1, 'stderr'), undefined);
    assert.deepEqual(runner.releases, []);
    assert.equal(errors.mock.callCount(), 0);
    assert.deepEqual(warnings.mock.calls.at(-1)?.arguments, [
      'container engine unavailable',
      { jobId: 1, error: down.message },
    ]);
  });

  it('leaves a job running when the engine goes away while its task runs', async () => {
    // Prepare
    const { store, runner, queueJob, runNext } = setup();
    runner.script('busybox', { waitError: new EngineUnavailableError('socket hang up') });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    assert.equal(store.peek(1)?.status, 'running');
    assert.equal(store.peek(1)?.runState?.handle, runner.waits[0]);
    assert.deepEqual(runner.stops, []);
    assert.deepEqual(runner.releases, []);
  });
});

describe('JobExecutor: stops', () => {
  it('kills a job when its tasks together use up the walltime', async () => {
    // Prepare: the first task reports 59.95 s of the 60 s walltime, so 50 ms are left.
    const { store, runner, queueJob, runNext } = setup();
    runner.script('long', { wallTimeSeconds: 59.95 });
    runner.script('endless', { untilStopped: true, wallTimeSeconds: 0.05 });
    const spec = specWithTasks(['long', 'endless'], {
      resources: buildResourcesInput({ walltime: 1 }),
    });
    await queueJob(1, { spec });

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'killed');
    assert.equal(job?.statusReason, 'Walltime limit exceeded');
    assert.equal(job?.inQueue, false);
    const endless = runner.starts.find((launch) => launch.image === 'endless');
    assert.equal(runner.stops.length, 1);
    assert.equal(runner.stops[0]?.graceSeconds, 1);
    assert.match(runner.stops[0]?.handle ?? '', /^fake-1-1-0-/);
    assert.equal(endless?.taskIndex, 1);
    assert.deepEqual(
      job?.execution?.tasks.map((task) => task.exitCode),
      [0, 143],
    );
  });

  it('kills a one-task job after its walltime of one minute', async (t) => {
    // Prepare: only setTimeout is faked, so the walltime passes without a minute of waiting.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { store, runner, executor, acceptNext, queueJob } = setup();
    runner.script('busybox', { untilStopped: true, wallTimeSeconds: 60 });
    await queueJob(1, { spec: buildJobSpec({ resources: buildResourcesInput({ walltime: 1 }) }) });
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);

    // Act
    t.mock.timers.tick(59_999);
    await new Promise(setImmediate);
    const stoppedEarly = runner.stops.length;
    t.mock.timers.tick(1);
    await executor.drain();

    // Assess
    assert.equal(stoppedEarly, 0);
    assert.equal(runner.stops.length, 1);
    assert.equal(store.peek(1)?.status, 'killed');
    assert.equal(store.peek(1)?.statusReason, 'Walltime limit exceeded');
    assert.deepEqual(store.peek(1)?.execution?.tasks[0]?.wallTimeUsage, 60);
  });

  it('stops the container of a job deleted while running and keeps what it learnt', async () => {
    // Prepare
    const { store, logs, runner, clock, service, executor, acceptNext, queueJob } = setup();
    runner.script('busybox', { untilStopped: true, stdout: ['partial\n'], wallTimeSeconds: 4 });
    await queueJob(1);
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);
    clock.advance(4_000);

    // Act
    await service.delete(ALICE, [1]);
    await executor.drain();

    // Assess
    const job = store.peek(1);
    assert.deepEqual(runner.stops, [{ handle: runner.waits[0], graceSeconds: 1 }]);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.statusReason, 'Job deleted by user');
    assert.equal(job?.endTime, NOW_SECONDS + 4);
    assert.equal(job?.inQueue, false);
    assert.deepEqual(job?.execution?.tasks, [
      { imagePullStatus: 'cached', exitCode: 143, wallTimeUsage: 4, retries: 0 },
    ]);
    assert.equal(job?.lease, undefined);
    assert.equal(job?.runState, undefined);
    assert.equal(logs.text(1, 'stdout'), 'partial\n');
    assert.deepEqual(runner.releases, [1]);
  });

  it('keeps a job deleted as its run ended deleted, with what the run learnt', async () => {
    // Prepare
    const store = new DeleteBeforeWriteStore('completed');
    const { runner, queueJob, runNext } = setup({ store });
    runner.script('busybox', { exitCode: 0, wallTimeSeconds: 7 });
    await queueJob(1);

    // Act
    await runNext();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.statusReason, 'Job deleted by user');
    assert.equal(job?.execution?.tasks[0]?.wallTimeUsage, 7);
    assert.equal(job?.lease, undefined);
    assert.deepEqual(runner.releases, [1]);
  });

  it('gives up the pull of a job deleted while its image is pulled', async () => {
    // Prepare
    const { store, runner, service, executor, acceptNext, queueJob } = setup();
    runner.script('busybox', { pullMs: 10_000 });
    await queueJob(1);
    await acceptNext();
    await runner.until(() => runner.pulls.length === 1);

    // Act
    await service.delete(ALICE, [1]);
    await executor.drain();

    // Assess
    assert.deepEqual(runner.starts, []);
    assert.equal(store.peek(1)?.status, 'deleted');
    assert.deepEqual(runner.releases, [1]);
  });

  it('renews its lease while a task runs', async () => {
    // Prepare
    const { store, runner, clock, service, executor, acceptNext, queueJob } = setup();
    runner.script('busybox', { untilStopped: true });
    await queueJob(1);
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);
    const firstExpiryMs = store.peek(1)?.lease?.expiresAtMs;

    // Act: past a third of the lease, the next status poll renews it.
    clock.advance(25_000);
    await eventually(() => store.peek(1)?.lease?.expiresAtMs !== firstExpiryMs);

    // Assess
    assert.equal(firstExpiryMs, NOW_MS + 60_000);
    assert.deepEqual(store.peek(1)?.lease, {
      workerId: WORKER_ID,
      expiresAtMs: NOW_MS + 25_000 + 60_000,
    });
    await service.delete(ALICE, [1]);
    await executor.drain();
  });

  it('lets go of a job that another worker took over, without writing to it', async () => {
    // Prepare
    const { store, runner, executor, acceptNext, queueJob } = setup();
    runner.script('busybox', { untilStopped: true });
    await queueJob(1);
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);
    const otherLease = { workerId: 'worker-2', expiresAtMs: NOW_MS + 60_000 };

    // Act
    await store.update(1, { status: 'running' }, { lease: otherLease });
    const writesBefore = store.updates.length;
    await executor.drain();

    // Assess
    assert.equal(store.updates.length, writesBefore);
    assert.equal(store.peek(1)?.status, 'running');
    assert.deepEqual(store.peek(1)?.lease, otherLease);
    assert.deepEqual(runner.stops, []);
    assert.deepEqual(runner.releases, []);
  });

  it('leaves a running job and its container for the next worker at shutdown', async () => {
    // Prepare
    const { store, runner, executor, shutdown, acceptNext, queueJob } = setup();
    runner.script('busybox', { untilStopped: true });
    await queueJob(1);
    await acceptNext();
    await runner.until(() => runner.waits.length === 1);

    // Act
    shutdown.abort();
    await executor.drain();

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'running');
    assert.equal(job?.lease?.workerId, WORKER_ID);
    assert.equal(job?.runState?.handle, runner.waits[0]);
    assert.equal(job?.runState?.startedAtMs, NOW_MS);
    assert.deepEqual(runner.stops, []);
    assert.deepEqual(runner.releases, []);
    assert.equal(runner.isRunning(runner.waits[0] ?? ''), true);
  });
});

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
