import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImagePullError, TaskRunnerError } from '../../core/src/errors';
import type { JobExecution } from '../../core/src/job-types';
import { ALICE, NOW_SECONDS, PROVISIONED, setup, specWithTasks } from '../helpers/executor-harness';
import { buildJobSpec, buildResourcesInput, buildTaskInput } from '../helpers/job-builders';

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
