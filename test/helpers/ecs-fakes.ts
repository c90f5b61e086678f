import {
  CloudWatchLogsClient,
  type GetLogEventsCommandInput,
  type GetLogEventsCommandOutput,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient, ECSServiceException, type Task } from '@aws-sdk/client-ecs';
import { EMULATOR_CREDENTIALS } from '../../adapters/aws/clients';
import type { TaskLaunch } from '../../core/src/ports';

export const REGION = 'eu-west-2';
export const ACCOUNT = '123456789012';
export const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/flare`;

/** What the worker's environment gives the runner, as a deployment would set it. */
export const RUNNER_SETTINGS = {
  region: REGION,
  clusterArn: CLUSTER_ARN,
  subnetIds: ['subnet-0a', 'subnet-0b'],
  securityGroupIds: ['sg-0c'],
  assignPublicIp: true,
  executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/flare-job-execution`,
  taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/flare-job`,
  logGroupName: '/flare/jobs',
  logRouterImage: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:init-latest',
  familyPrefix: 'flare-job',
} as const;

/** SDK clients that never reach AWS: tests put aws-sdk-client-mock on them. */
export function offlineClients(): { ecs: ECSClient; logs: CloudWatchLogsClient } {
  const config = { region: REGION, credentials: EMULATOR_CREDENTIALS };
  return { ecs: new ECSClient(config), logs: new CloudWatchLogsClient(config) };
}

export function taskArnFor(taskId: string): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/flare/${taskId}`;
}

/** The launch of a one-core, 1 GB task, as the executor plans it. */
export function buildLaunch(overrides: Partial<TaskLaunch> = {}): TaskLaunch {
  return {
    jobId: 42,
    taskIndex: 0,
    taskAttempt: 0,
    image: 'busybox',
    command: ['/bin/sh', '-c', 'echo hello'],
    env: { PROMINENCE_JOB_ID: '42', HOME: '/home/user' },
    workdir: '/home/user',
    cpus: 1,
    memoryMiB: 1024,
    ...overrides,
  };
}

/** An ECS task as DescribeTasks shows it; `exitCode` and `reason` go to the job container. */
export function buildTask(
  taskId: string,
  overrides: Partial<Task> & { exitCode?: number; reason?: string } = {},
): Task {
  const { exitCode, reason, ...task } = overrides;
  return {
    taskArn: taskArnFor(taskId),
    lastStatus: 'RUNNING',
    containers: [
      {
        name: 'job',
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(reason === undefined ? {} : { reason }),
      },
      { name: 'log_router' },
    ],
    ...task,
  };
}

/** An AWS error of a kind the SDK has no class for, such as ECS's throttling. */
export function awsError(name: string, message: string): ECSServiceException {
  return new ECSServiceException({ name, message, $fault: 'client', $metadata: {} });
}

/**
 * CloudWatch streams that GetLogEvents pages through as the service does: `pageSize` events
 * a page, and at the end the token it was given. Lines can be added later, as CloudWatch
 * serves late events to a reader that comes back with its last token.
 */
export class FakeLogStreams {
  readonly #streams = new Map<string, string[]>();
  readonly #pageSize: number;
  #throttles = 0;

  constructor(pageSize = 2) {
    this.#pageSize = pageSize;
  }

  add(streamName: string, ...lines: string[]): this {
    this.#streams.set(streamName, [...(this.#streams.get(streamName) ?? []), ...lines]);
    return this;
  }

  /** Makes the next `count` reads fail as a throttled GetLogEvents does. */
  throttleNext(count: number): this {
    this.#throttles = count;
    return this;
  }

  getLogEvents(input: GetLogEventsCommandInput): GetLogEventsCommandOutput {
    if (this.#throttles > 0) {
      this.#throttles -= 1;
      throw awsError('ThrottlingException', 'Rate exceeded');
    }
    const lines = this.#streams.get(input.logStreamName ?? '');
    if (lines === undefined) {
      throw new ResourceNotFoundException({ message: 'stream', $metadata: {} });
    }
    const from = input.nextToken === undefined ? 0 : Number(input.nextToken.slice(2));
    const to = Math.min(lines.length, from + this.#pageSize);
    return {
      events: lines.slice(from, to).map((message, i) => ({ message, timestamp: from + i })),
      nextForwardToken: `f/${to}`,
      $metadata: {},
    };
  }
}
