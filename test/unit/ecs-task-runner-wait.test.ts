import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTasksCommand,
  ListTasksCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { EcsTaskRunner } from '../../adapters/aws/ecs-task-runner';
import { ImagePullError, TaskRunnerError } from '../../core/src/errors';
import type { TaskOutput } from '../../core/src/ports';
import {
  awsError,
  buildTask,
  CLUSTER_ARN,
  FakeLogStreams,
  offlineClients,
  RUNNER_SETTINGS,
  taskArnFor,
} from '../helpers/ecs-fakes';
import { InMemoryLogStore } from '../helpers/in-memory-log-store';
import { silentLogger } from '../helpers/silent-logger';

const TASK_ID = '0f1e2d3c4b5a';
const HANDLE = taskArnFor(TASK_ID);
const T0 = new Date('2025-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** A task that ran and exited 0, as DescribeTasks shows it once stopped. */
const STOPPED: Task = buildTask(TASK_ID, {
  lastStatus: 'STOPPED',
  stopCode: 'EssentialContainerExited',
  exitCode: 0,
  pullStartedAt: at(-10),
  pullStoppedAt: at(-3.5),
  startedAt: at(0),
  executionStoppedAt: at(12.5),
  stoppedAt: at(20),
});

/**
 * A runner whose DescribeTasks answers with `states` in turn (the last one repeating) and whose
 * CloudWatch streams are `streams`. Pauses are recorded rather than waited for.
 */
function setup(
  states: readonly Task[],
  streams = new FakeLogStreams(),
  onPause: (ms: number) => void = () => {},
) {
  const { ecs, logs } = offlineClients();
  const ecsMock = mockClient(ecs);
  const logsMock = mockClient(logs);
  let looks = 0;
  ecsMock.on(DescribeTasksCommand).callsFake(() => {
    const task = states[Math.min(looks, states.length - 1)];
    looks += 1;
    return { tasks: task === undefined ? [] : [task], failures: [] };
  });
  logsMock.on(GetLogEventsCommand).callsFake((input) => streams.getLogEvents(input));
  const pauses: number[] = [];
  const runner = new EcsTaskRunner({
    ...RUNNER_SETTINGS,
    ecs,
    logs,
    logger: silentLogger(),
    statusPollMinMs: 100,
    statusPollMaxMs: 400,
    logSettleMs: 50,
    backoff: {
      baseMs: 100,
      maxMs: 1_000,
      random: () => 0.5,
      pause: async (ms, signal) => {
        pauses.push(ms);
        onPause(ms);
        signal?.throwIfAborted();
      },
    },
  });
  const store = new InMemoryLogStore();
  const output = async (): Promise<TaskOutput> => ({
    stdout: await store.open(1, 'stdout'),
    stderr: await store.open(1, 'stderr'),
  });
  const logCalls = () =>
    logsMock
      .commandCalls(GetLogEventsCommand)
      .map((call) => call.args[0].input)
      .map(({ logStreamName, nextToken }) => `${logStreamName}@${nextToken ?? 'head'}`);
  return { runner, ecsMock, streams, store, output, pauses, logCalls, looks: () => looks };
}

describe('EcsTaskRunner.wait', () => {
  it('reports the exit code, wall time and pull time once the task has stopped', async () => {
    // Prepare
    const running = buildTask(TASK_ID, { lastStatus: 'RUNNING' });
    const { runner, ecsMock, output, pauses, looks } = setup([running, running, running, STOPPED]);

    // Act
    const outcome = await runner.wait(HANDLE, await output());

    // Assess
    assert.deepEqual(outcome, {
      exitCode: 0,
      wallTimeSeconds: 12.5,
      oomKilled: false,
      imagePullSeconds: 6.5,
    });
    assert.equal(looks(), 4);
    assert.deepEqual(pauses, [100, 200, 400, 50], 'polls back off up to the cap, then settle');
    assert.deepEqual(ecsMock.commandCalls(DescribeTasksCommand)[0]?.args[0].input, {
      cluster: CLUSTER_ARN,
      tasks: [HANDLE],
      include: ['TAGS'],
    });
  });

  it('reports a failing exit code as it is', async () => {
    // Prepare
    const failed = { ...STOPPED, containers: buildTask(TASK_ID, { exitCode: 3 }).containers };
    const { runner, output } = setup([failed]);

    // Act
    const outcome = await runner.wait(HANDLE, await output());

    // Assess
    assert.equal(outcome.exitCode, 3);
    assert.equal(outcome.oomKilled, false);
  });

  it('copies both streams in order, page by page, a line per event', async () => {
    // Prepare
    const streams = new FakeLogStreams(2)
      .add(`tasks/${TASK_ID}/stdout`, 'one', 'two', 'three', '')
      .add(`tasks/${TASK_ID}/stderr`, 'warning: careful');
    const { runner, store, output, logCalls } = setup([STOPPED], streams);

    // Act
    await runner.wait(HANDLE, await output());

    // Assess
    assert.equal(store.text(1, 'stdout'), 'one\ntwo\nthree\n\n');
    assert.equal(store.text(1, 'stderr'), 'warning: careful\n');
    assert.deepEqual(logCalls(), [
      `tasks/${TASK_ID}/stdout@head`,
      `tasks/${TASK_ID}/stdout@f/2`,
      `tasks/${TASK_ID}/stdout@f/4`,
      `tasks/${TASK_ID}/stderr@head`,
      `tasks/${TASK_ID}/stderr@f/1`,
      `tasks/${TASK_ID}/stdout@f/4`,
      `tasks/${TASK_ID}/stderr@f/1`,
    ]);
  });

  it('reads on after a pause for lines CloudWatch served late', async () => {
    // Prepare
    const stdout = `tasks/${TASK_ID}/stdout`;
    const streams = new FakeLogStreams().add(stdout, 'early');
    const lateLine = (ms: number) => {
      if (ms === 50) streams.add(stdout, 'late');
    };
    const { runner, store, output, pauses } = setup([STOPPED], streams, lateLine);

    // Act
    await runner.wait(HANDLE, await output());

    // Assess
    assert.deepEqual(pauses, [50]);
    assert.equal(store.text(1, 'stdout'), 'early\nlate\n');
  });

  it('reads on through throttled reads of the streams', async () => {
    // Prepare
    const streams = new FakeLogStreams().add(`tasks/${TASK_ID}/stdout`, 'line').throttleNext(2);
    const { runner, store, output, pauses } = setup([STOPPED], streams);

    // Act
    await runner.wait(HANDLE, await output());

    // Assess
    assert.equal(store.text(1, 'stdout'), 'line\n');
    assert.deepEqual(pauses, [50, 100, 50], 'two backoffs, then the settle pause');
  });

  it('takes a stream the task never wrote to as empty', async () => {
    // Prepare
    const streams = new FakeLogStreams().add(`tasks/${TASK_ID}/stdout`, 'only stdout');
    const { runner, store, output } = setup([STOPPED], streams);

    // Act
    await runner.wait(HANDLE, await output());

    // Assess
    assert.equal(store.text(1, 'stdout'), 'only stdout\n');
    assert.equal(store.text(1, 'stderr'), '');
  });

  it('throws ImagePullError for a task stopped by CannotPullContainerError', async () => {
    // Prepare
    const reason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
    const pullFailed = buildTask(TASK_ID, {
      lastStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: reason,
      stoppedAt: at(5),
    });
    const { runner, output, logCalls } = setup([pullFailed]);

    // Act
    const waiting = runner.wait(HANDLE, await output());

    // Assess
    await assert.rejects(waiting, (error) => {
      assert.ok(error instanceof ImagePullError);
      assert.match(error.message, /CannotPullContainerError/);
      return true;
    });
    assert.deepEqual(logCalls(), [], 'a task that never ran has no output to copy');
  });

  it('reports a job container killed for its memory as oomKilled', async () => {
    // Prepare
    const killed = {
      ...STOPPED,
      containers: buildTask(TASK_ID, {
        exitCode: 137,
        reason: 'OutOfMemoryError: Container killed due to memory usage',
      }).containers,
    };
    const { runner, output } = setup([killed]);

    // Act
    const outcome = await runner.wait(HANDLE, await output());

    // Assess
    assert.equal(outcome.exitCode, 137);
    assert.equal(outcome.oomKilled, true);
  });

  it('reports a task stopped by a delete once ECS has stopped it', async () => {
    // Prepare
    const stopping = buildTask(TASK_ID, { lastStatus: 'DEPROVISIONING', exitCode: 143 });
    const stopped = buildTask(TASK_ID, {
      lastStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: 'Stopped by Flare (job deleted or walltime exceeded)',
      exitCode: 143,
      startedAt: at(0),
      stoppedAt: at(40),
    });
    const running = buildTask(TASK_ID);
    const { runner, ecsMock, output } = setup([running, stopping, stopped]);
    ecsMock.on(StopTaskCommand).resolves({});

    // Act
    const waiting = runner.wait(HANDLE, await output());
    await runner.stop(HANDLE, 2);
    const outcome = await waiting;

    // Assess
    assert.equal(ecsMock.commandCalls(StopTaskCommand).length, 1);
    assert.deepEqual(outcome, { exitCode: 143, wallTimeSeconds: 40, oomKilled: false });
  });

  it('reports SIGTERM for a task stopped before its job container ran', async () => {
    // Prepare
    const stopped = buildTask(TASK_ID, { lastStatus: 'STOPPED', stopCode: 'UserInitiated' });
    const { runner, output } = setup([stopped]);

    // Act
    const outcome = await runner.wait(HANDLE, await output());

    // Assess
    assert.deepEqual(outcome, { exitCode: 143, wallTimeSeconds: 0, oomKilled: false });
  });

  it('fails a task that stopped without an exit code for another reason', async () => {
    // Prepare
    const stopped = buildTask(TASK_ID, {
      lastStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'ResourceInitializationError: unable to retrieve secret',
    });
    const { runner, output } = setup([stopped]);

    // Act
    const waiting = runner.wait(HANDLE, await output());

    // Assess
    await assert.rejects(waiting, (error) => {
      assert.ok(error instanceof TaskRunnerError && !(error instanceof ImagePullError));
      assert.match(error.message, /ResourceInitializationError/);
      return true;
    });
  });

  it('keeps waiting through throttled looks', async () => {
    // Prepare
    const { runner, ecsMock, output } = setup([STOPPED]);
    ecsMock
      .on(DescribeTasksCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .resolves({ tasks: [STOPPED] });

    // Act
    const outcome = await runner.wait(HANDLE, await output());

    // Assess
    assert.equal(outcome.exitCode, 0);
    assert.equal(ecsMock.commandCalls(DescribeTasksCommand).length, 2);
  });

  it('stops waiting when its signal is aborted, with the signal reason', async () => {
    // Prepare
    const { runner, ecsMock, output, logCalls } = setup([buildTask(TASK_ID)]);
    const abort = new AbortController();
    let looks = 0;
    ecsMock.on(DescribeTasksCommand).callsFake(() => {
      looks += 1;
      if (looks === 3) abort.abort(new Error('worker shutting down'));
      return { tasks: [buildTask(TASK_ID)] };
    });

    // Act
    const waiting = runner.wait(HANDLE, await output(), abort.signal);

    // Assess
    await assert.rejects(waiting, /worker shutting down/);
    assert.equal(looks, 3);
    assert.deepEqual(logCalls(), []);
  });

  it('resumes a task after a worker restart: finds it by its tags, then waits on it', async () => {
    // Prepare
    const tags = [
      { key: 'flare:job', value: '1' },
      { key: 'flare:task', value: '0' },
      { key: 'flare:attempt', value: '0' },
    ];
    const streams = new FakeLogStreams().add(`tasks/${TASK_ID}/stdout`, 'before', 'after');
    const running = buildTask(TASK_ID, { tags });
    const { runner, ecsMock, store, output } = setup([running, running, STOPPED], streams);
    ecsMock.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [HANDLE] });
    ecsMock.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: [] });

    // Act
    const found = await runner.findTasks(1);
    const outcome = await runner.wait(HANDLE, await output());

    // Assess
    assert.deepEqual(found, [{ handle: HANDLE, taskIndex: 0, taskAttempt: 0, running: true }]);
    assert.equal(outcome.exitCode, 0);
    assert.equal(store.text(1, 'stdout'), 'before\nafter\n');
  });
});
