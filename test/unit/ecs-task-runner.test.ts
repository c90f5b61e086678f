import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { EcsTaskRunner, type EcsTaskRunnerOptions } from '../../adapters/aws/ecs-task-runner';
import { CapacityError, ImagePullError, TaskRunnerError } from '../../core/src/errors';
import {
  awsError,
  buildLaunch,
  buildTask,
  CLUSTER_ARN,
  offlineClients,
  RUNNER_SETTINGS,
  taskArnFor,
} from '../helpers/ecs-fakes';
import { silentLogger } from '../helpers/silent-logger';

const DEFINITION_ARN = 'arn:aws:ecs:eu-west-2:123456789012:task-definition/flare-job-x:1';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Fluent Bit's variable, not JavaScript's.
const TASK_ID_VARIABLE = '${ECS_TASK_ID}';
const CAPACITY_FAILURE = {
  arn: 'arn:aws:ecs:eu-west-2:123456789012:task/flare/none',
  reason: 'Capacity is unavailable at this time. Please try again later',
};

function setup(options: Partial<EcsTaskRunnerOptions> = {}) {
  const { ecs, logs } = offlineClients();
  const ecsMock = mockClient(ecs);
  ecsMock.on(DescribeTaskDefinitionCommand).rejects(awsError('ClientException', 'Unable'));
  ecsMock.on(RegisterTaskDefinitionCommand).resolves({
    taskDefinition: { taskDefinitionArn: DEFINITION_ARN, status: 'ACTIVE' },
  });
  ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: taskArnFor('t1') }], failures: [] });
  const pauses: number[] = [];
  const runner = new EcsTaskRunner({
    ...RUNNER_SETTINGS,
    ecs,
    logs,
    logger: silentLogger(),
    backoff: {
      baseMs: 100,
      maxMs: 1_000,
      random: () => 0.5,
      pause: async (ms, signal) => {
        pauses.push(ms);
        signal?.throwIfAborted();
      },
    },
    ...options,
  });
  const inputsOf = <T extends object>(command: new (input: T) => { input: T }) =>
    ecsMock.commandCalls(command as never).map((call) => (call.args[0] as { input: T }).input);
  return { ecs, ecsMock, runner, pauses, inputsOf };
}

describe('EcsTaskRunner.start', () => {
  it('registers a Fargate task definition with a FireLens router for a new job shape', async () => {
    // Prepare
    const { runner, inputsOf } = setup();

    // Act
    await runner.start(buildLaunch({ cpus: 2, memoryMiB: 4096, workdir: '/home/user/run' }));

    // Assess
    const [input] = inputsOf(RegisterTaskDefinitionCommand);
    const { family, ...definition } = input ?? {};
    assert.match(family ?? '', /^flare-job-[0-9a-f]{20}$/);
    assert.deepEqual(definition, {
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
      cpu: '2048',
      memory: '5120',
      executionRoleArn: RUNNER_SETTINGS.executionRoleArn,
      taskRoleArn: RUNNER_SETTINGS.taskRoleArn,
      containerDefinitions: [
        {
          name: 'log_router',
          image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:init-latest',
          essential: true,
          memoryReservation: 50,
          firelensConfiguration: {
            type: 'fluentbit',
            options: { 'enable-ecs-log-metadata': 'true' },
          },
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': '/flare/jobs',
              'awslogs-region': 'eu-west-2',
              'awslogs-stream-prefix': 'router',
            },
          },
        },
        {
          name: 'job',
          image: 'busybox',
          essential: true,
          memory: 4096,
          workingDirectory: '/home/user/run',
          stopTimeout: 30,
          dependsOn: [{ containerName: 'log_router', condition: 'START' }],
          logConfiguration: {
            logDriver: 'awsfirelens',
            options: {
              Name: 'cloudwatch_logs',
              region: 'eu-west-2',
              log_group_name: '/flare/jobs',
              log_stream_template: `tasks/${TASK_ID_VARIABLE}/$source`,
              log_stream_name: `tasks/${TASK_ID_VARIABLE}/unsorted`,
              log_key: 'log',
              auto_create_group: 'false',
              retry_limit: '5',
            },
          },
        },
      ],
    });
  });

  it('runs the task on Fargate in the cluster, with the job command, env and tags', async () => {
    // Prepare
    const { runner, inputsOf } = setup();

    // Act
    const handle = await runner.start(buildLaunch({ jobId: 7, taskIndex: 1, taskAttempt: 2 }));

    // Assess
    assert.equal(handle, taskArnFor('t1'));
    const [input] = inputsOf(RunTaskCommand);
    const { clientToken, ...rest } = input ?? {};
    assert.match(clientToken ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(rest, {
      cluster: CLUSTER_ARN,
      taskDefinition: DEFINITION_ARN,
      launchType: 'FARGATE',
      count: 1,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-0a', 'subnet-0b'],
          securityGroups: ['sg-0c'],
          assignPublicIp: 'ENABLED',
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: 'job',
            command: ['/bin/sh', '-c', 'echo hello'],
            environment: [
              { name: 'PROMINENCE_JOB_ID', value: '42' },
              { name: 'HOME', value: '/home/user' },
            ],
          },
        ],
      },
      startedBy: 'flare-job-7',
      tags: [
        { key: 'flare:job', value: '7' },
        { key: 'flare:task', value: '1' },
        { key: 'flare:attempt', value: '2' },
      ],
    });
  });

  it("leaves the image's own command when the task has none", async () => {
    // Prepare
    const { runner, inputsOf } = setup({ assignPublicIp: false });
    const { command: _command, ...launch } = buildLaunch();

    // Act
    await runner.start(launch);

    // Assess
    const [input] = inputsOf(RunTaskCommand);
    assert.equal(input?.overrides?.containerOverrides?.[0]?.command, undefined);
    assert.equal(input?.networkConfiguration?.awsvpcConfiguration?.assignPublicIp, 'DISABLED');
  });

  it('reuses the task definition of a shape it registered, and registers a new shape', async () => {
    // Prepare
    const { runner, inputsOf } = setup();

    // Act
    await runner.start(buildLaunch());
    await runner.start(buildLaunch({ jobId: 9, env: { OTHER: 'env is no part of it' } }));
    await runner.start(buildLaunch({ image: 'alpine' }));

    // Assess
    const families = inputsOf(RegisterTaskDefinitionCommand).map((input) => input.family);
    assert.equal(families.length, 2);
    assert.notEqual(families[0], families[1]);
    assert.equal(inputsOf(RunTaskCommand).length, 3);
  });

  it('reuses the definition an earlier worker registered, found by its family', async () => {
    // Prepare
    const { runner, ecsMock, inputsOf } = setup();
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { taskDefinitionArn: 'arn:earlier:1', status: 'ACTIVE' },
    });

    // Act
    await runner.start(buildLaunch());

    // Assess
    assert.equal(inputsOf(RegisterTaskDefinitionCommand).length, 0);
    assert.equal(inputsOf(RunTaskCommand)[0]?.taskDefinition, 'arn:earlier:1');
  });

  it('picks the smallest Fargate size holding the job and its log router', async () => {
    // Prepare
    const { runner, inputsOf } = setup();

    // Act
    await runner.start(buildLaunch({ cpus: 1, memoryMiB: 2048 }));
    await runner.start(buildLaunch({ cpus: 3, memoryMiB: 1024 }));

    // Assess
    const sizes = inputsOf(RegisterTaskDefinitionCommand).map(({ cpu, memory }) => [cpu, memory]);
    assert.deepEqual(sizes, [
      ['1024', '3072'],
      ['4096', '8192'],
    ]);
  });

  it('retries a throttled RunTask with growing, jittered pauses, then starts', async () => {
    // Prepare
    const { runner, ecsMock, pauses, inputsOf } = setup();
    const throttled = awsError('ThrottlingException', 'Rate exceeded');
    ecsMock
      .on(RunTaskCommand)
      .rejectsOnce(throttled)
      .rejectsOnce(throttled)
      .resolvesOnce({ tasks: [{ taskArn: taskArnFor('t9') }] });

    // Act
    const handle = await runner.start(buildLaunch());

    // Assess
    assert.equal(handle, taskArnFor('t9'));
    assert.deepEqual(pauses, [50, 100]);
    const tokens = new Set(inputsOf(RunTaskCommand).map((input) => input.clientToken));
    assert.equal(tokens.size, 1, 'every retry carries the same client token');
  });

  it('throws CapacityError when Fargate keeps reporting no capacity', async () => {
    // Prepare
    const { runner, ecsMock, pauses, inputsOf } = setup({ startAttempts: 4 });
    ecsMock.on(RunTaskCommand).resolves({ tasks: [], failures: [CAPACITY_FAILURE] });

    // Act
    const starting = runner.start(buildLaunch());

    // Assess
    await assert.rejects(starting, (error) => {
      assert.ok(error instanceof CapacityError);
      assert.match(error.message, /refused the task 4 times: Capacity is unavailable/);
      return true;
    });
    assert.equal(inputsOf(RunTaskCommand).length, 4);
    assert.deepEqual(pauses, [50, 100, 200]);
  });

  it('caps the pause between retries', async () => {
    // Prepare
    const { runner, ecsMock, pauses } = setup({ startAttempts: 7 });
    ecsMock.on(RunTaskCommand).resolves({ failures: [{ reason: 'RESOURCE:MEMORY' }] });

    // Act
    await assert.rejects(runner.start(buildLaunch()), CapacityError);

    // Assess
    assert.deepEqual(pauses, [50, 100, 200, 400, 500, 500]);
  });

  it('fails at once on a refusal that more time would not cure', async () => {
    // Prepare
    const { runner, ecsMock, inputsOf } = setup();
    ecsMock.on(RunTaskCommand).resolves({ failures: [{ reason: 'MISSING', detail: 'subnet' }] });

    // Act
    const starting = runner.start(buildLaunch());

    // Assess
    await assert.rejects(starting, (error) => {
      assert.ok(error instanceof TaskRunnerError && !(error instanceof CapacityError));
      assert.match(error.message, /MISSING subnet/);
      return true;
    });
    assert.equal(inputsOf(RunTaskCommand).length, 1);
  });

  it('stops retrying when its signal is aborted', async () => {
    // Prepare
    const { runner, ecsMock, inputsOf } = setup();
    const abort = new AbortController();
    ecsMock.on(RunTaskCommand).callsFake(() => {
      abort.abort(new Error('job deleted'));
      return { failures: [CAPACITY_FAILURE] };
    });

    // Act
    const starting = runner.start(buildLaunch(), abort.signal);

    // Assess
    await assert.rejects(starting, /job deleted/);
    assert.equal(inputsOf(RunTaskCommand).length, 1);
  });
});

describe('EcsTaskRunner: engine facts', () => {
  it('offers the largest Fargate task less the log router, in its region', async () => {
    // Prepare
    const { runner } = setup();

    // Act
    const capacity = await runner.capacity();

    // Assess
    assert.deepEqual(capacity, { site: 'aws-fargate:eu-west-2', cpus: 16, memoryMiB: 122_830 });
  });

  it('leaves the pull to the task, and refuses registry credentials it cannot pass on', async () => {
    // Prepare
    const { runner } = setup();

    // Act
    const ready = await runner.prepareImage('busybox', undefined);
    const withCredential = runner.prepareImage('private/image', { username: 'u', token: 't' });

    // Assess
    assert.deepEqual(ready, { status: 'completed' });
    await assert.rejects(withCredential, ImagePullError);
  });

  it('stops a task with a reason, and takes a task ECS no longer knows as stopped', async () => {
    // Prepare
    const { runner, ecsMock, inputsOf } = setup();
    ecsMock
      .on(StopTaskCommand)
      .resolvesOnce({})
      .rejectsOnce(awsError('InvalidParameterException', 'The referenced task was not found.'));

    // Act
    await runner.stop(taskArnFor('t1'), 2);
    await runner.stop(taskArnFor('gone'), 2);

    // Assess
    assert.deepEqual(inputsOf(StopTaskCommand)[0], {
      cluster: CLUSTER_ARN,
      task: taskArnFor('t1'),
      reason: 'Stopped by Flare (job deleted or walltime exceeded)',
    });
  });

  it("finds a job's running and recently stopped tasks by its tags, across pages", async () => {
    // Prepare
    const { runner, ecsMock, inputsOf } = setup();
    ecsMock
      .on(ListTasksCommand, { desiredStatus: 'RUNNING' })
      .resolvesOnce({ taskArns: [taskArnFor('b')], nextToken: 'n1' })
      .resolvesOnce({ taskArns: [taskArnFor('c')] });
    ecsMock.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({
      taskArns: [taskArnFor('a')],
    });
    const tagged = (id: string, task: number, attempt: number, lastStatus: string) =>
      buildTask(id, {
        lastStatus,
        tags: [
          { key: 'flare:job', value: '42' },
          { key: 'flare:task', value: String(task) },
          { key: 'flare:attempt', value: String(attempt) },
        ],
      });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [tagged('b', 1, 1, 'RUNNING'), tagged('c', 2, 0, 'PROVISIONING')].concat(
        tagged('a', 1, 0, 'STOPPED'),
        buildTask('untagged'),
      ),
    });

    // Act
    const found = await runner.findTasks(42);

    // Assess
    assert.deepEqual(found, [
      { handle: taskArnFor('a'), taskIndex: 1, taskAttempt: 0, running: false },
      { handle: taskArnFor('b'), taskIndex: 1, taskAttempt: 1, running: true },
      { handle: taskArnFor('c'), taskIndex: 2, taskAttempt: 0, running: true },
    ]);
    const lists = inputsOf(ListTasksCommand);
    assert.deepEqual(lists[1], {
      cluster: CLUSTER_ARN,
      startedBy: 'flare-job-42',
      desiredStatus: 'RUNNING',
      nextToken: 'n1',
    });
    assert.deepEqual(inputsOf(DescribeTasksCommand)[0], {
      cluster: CLUSTER_ARN,
      tasks: [taskArnFor('b'), taskArnFor('c'), taskArnFor('a')],
      include: ['TAGS'],
    });
  });

  it('stops what still runs of a job when it is released, and keeps the definitions', async () => {
    // Prepare
    const { runner, ecsMock, inputsOf } = setup();
    ecsMock.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({
      taskArns: [taskArnFor('stray')],
    });
    ecsMock.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: [] });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        buildTask('stray', {
          tags: [
            { key: 'flare:task', value: '0' },
            { key: 'flare:attempt', value: '0' },
          ],
        }),
      ],
    });
    ecsMock.on(StopTaskCommand).resolves({});

    // Act
    await runner.release(42);

    // Assess
    assert.deepEqual(
      inputsOf(StopTaskCommand).map((input) => input.task),
      [taskArnFor('stray')],
    );
  });
});
