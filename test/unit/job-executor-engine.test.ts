import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockerUnreachableError } from '../../adapters/docker/docker-client';
import { EngineUnavailableError, TaskRunnerError } from '../../core/src/errors';
import {
  ALICE,
  DeleteBeforeWriteStore,
  eventually,
  NOW_MS,
  NOW_SECONDS,
  setup,
  specWithTasks,
  WORKER_ID,
} from '../helpers/executor-harness';
import { buildJobSpec, buildResourcesInput } from '../helpers/job-builders';

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
