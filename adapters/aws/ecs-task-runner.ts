/*
 * Job output on Fargate: a note for LOGS and INFRA, as the shared contract asks.
 *
 * The streams are named as agreed, `tasks/<ecsTaskId>/stdout` and `tasks/<ecsTaskId>/stderr`
 * in FLARE_JOB_LOG_GROUP, written by Fluent Bit's `cloudwatch_logs` output with `log_key log`.
 * Its `log_stream_template` alone cannot name them: a template can only use fields of the
 * record, FireLens records carry the task's ARN but not its id, and a template variable may
 * only be followed by `.` or `,` (Fluent Bit's CloudWatch output, "Limitations of
 * record_accessor syntax"). The documented way to get the task id into a `cloudwatch_logs`
 * output is the `init` variant of aws-for-fluent-bit, which exports ECS_TASK_ID before Fluent
 * Bit reads its configuration (aws-for-fluent-bit, use_cases/init-process-for-fluent-bit, and
 * amazon-ecs-firelens-examples, fluent-bit/init-metadata). So the template is
 * `tasks/${ECS_TASK_ID}/$source`, and the log router image must be an `init` tag: the worker's
 * default for FLARE_LOG_ROUTER_IMAGE is `aws-for-fluent-bit:init-latest`, not `:stable`.
 *
 * IAM beyond the contract's list: RunTask with `tags` needs `ecs:TagResource` on the task
 * (condition `ecs:CreateAction` = `RunTask`). The router's own logs go to the same log group,
 * in streams `router/log_router/<taskId>` (awslogs driver, execution role).
 */
import { randomUUID } from 'node:crypto';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { CapacityError, ImagePullError, TaskRunnerError } from '../../core/src/errors';
import type { ImagePullCredential } from '../../core/src/job-types';
import type { Logger } from '../../core/src/logger';
import type {
  FoundTask,
  ImageReady,
  RunnerCapacity,
  TaskLaunch,
  TaskOutcome,
  TaskOutput,
  TaskRunner,
} from '../../core/src/ports';
import { JOB_CONTAINER, type JobTaskSettings, jobTaskDefinition } from './ecs-task-definition';
import { foundTaskOf, outcomeOf, TASK_TAGS } from './ecs-task-outcome';
import { FARGATE_MAX_REQUEST, pickFargateSize } from './fargate-sizes';
import {
  type Backoff,
  backoffMs,
  DEFAULT_BACKOFF,
  isThrottling,
  withThrottleRetries,
} from './retry-backoff';
import { ecsTaskIdOf } from './task-log-streams';
import { copyTaskOutput } from './task-output-copy';

export interface EcsTaskRunnerOptions extends Omit<JobTaskSettings, 'stopTimeoutSeconds'> {
  readonly ecs: ECSClient;
  readonly logs: CloudWatchLogsClient;
  readonly logger: Logger;
  readonly clusterArn: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly assignPublicIp: boolean;
  /** Between SIGTERM and SIGKILL when a task is stopped. @default 30, ECS's own default */
  readonly stopTimeoutSeconds?: number;
  /** How often RunTask is tried before CapacityError. @default 6 */
  readonly startAttempts?: number;
  /** Spacing of retries. @default 1 s doubling up to 20 s, with full jitter */
  readonly backoff?: Backoff;
  /** First pause between two looks at a waited task; it doubles up to the max. @default 1000 */
  readonly statusPollMinMs?: number;
  /** @default 10000 */
  readonly statusPollMaxMs?: number;
  /**
   * After a task stopped and its streams were read, how long to wait before reading on once
   * more, for the last lines CloudWatch took in but did not yet serve. @default 2000
   */
  readonly logSettleMs?: number;
}

/** Why Flare stops a task: a delete or the walltime; ECS shows it as the stopped reason. */
const STOP_REASON = 'Stopped by Flare (job deleted or walltime exceeded)';
/** DescribeTasks takes at most this many tasks. */
const DESCRIBE_MAX_TASKS = 100;

/**
 * Runs each task of a job as one Fargate task: a job container with the job's image, command
 * and environment, and a FireLens log router that sends its stdout and stderr to CloudWatch,
 * from where `wait` copies them into the job's streams once the task has stopped.
 */
export class EcsTaskRunner implements TaskRunner {
  readonly #options: EcsTaskRunnerOptions;
  readonly #settings: JobTaskSettings;
  readonly #backoff: Backoff;
  /** Calls of RunTask (and of a throttled ECS or CloudWatch call) before giving up. */
  readonly #attempts: number;
  /** Task definition ARNs by family, so each shape is registered once per worker at most. */
  readonly #definitions = new Map<string, Promise<string>>();

  constructor(options: EcsTaskRunnerOptions) {
    this.#options = options;
    this.#settings = { ...options, stopTimeoutSeconds: options.stopTimeoutSeconds ?? 30 };
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#attempts = options.startAttempts ?? 6;
  }

  async capacity(): Promise<RunnerCapacity> {
    return { site: `aws-fargate:${this.#options.region}`, ...FARGATE_MAX_REQUEST };
  }

  /** Fargate pulls the image as it starts the task; `wait` reports how that went. */
  async prepareImage(
    image: string,
    credential: ImagePullCredential | undefined,
  ): Promise<ImageReady> {
    if (credential !== undefined) {
      // Fargate takes registry credentials only as a Secrets Manager secret named in the
      // task definition; storing each job's credential there is not built yet.
      throw new ImagePullError(`Registry credentials for ${image} are not supported on Fargate`);
    }
    return { status: 'completed' };
  }

  async start(launch: TaskLaunch, signal?: AbortSignal): Promise<string> {
    const taskDefinition = await this.#taskDefinitionFor(launch);
    const { clusterArn, subnetIds, securityGroupIds, assignPublicIp } = this.#options;
    const command = new RunTaskCommand({
      cluster: clusterArn,
      taskDefinition,
      launchType: 'FARGATE',
      count: 1,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...subnetIds],
          securityGroups: [...securityGroupIds],
          assignPublicIp: assignPublicIp ? 'ENABLED' : 'DISABLED',
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: JOB_CONTAINER,
            ...(launch.command === undefined ? {} : { command: [...launch.command] }),
            environment: Object.entries(launch.env).map(([name, value]) => ({ name, value })),
          },
        ],
      },
      startedBy: startedByFor(launch.jobId),
      tags: [
        { key: TASK_TAGS.job, value: String(launch.jobId) },
        { key: TASK_TAGS.task, value: String(launch.taskIndex) },
        { key: TASK_TAGS.attempt, value: String(launch.taskAttempt) },
      ],
      // One token for all retries of this start, so a retried request cannot start two tasks.
      clientToken: randomUUID(),
    });
    for (let attempt = 1; ; attempt += 1) {
      const refused = await this.#runTask(command, signal);
      if (typeof refused === 'object') return refused.taskArn;
      if (attempt >= this.#attempts) {
        throw new CapacityError(`Fargate refused the task ${attempt} times: ${refused}`);
      }
      const fields = { jobId: launch.jobId, taskIndex: launch.taskIndex, attempt, refused };
      this.#options.logger.warn('task start refused, retrying', fields);
      await this.#backoff.pause(backoffMs(attempt, this.#backoff), signal);
    }
  }

  async wait(handle: string, output: TaskOutput, signal?: AbortSignal): Promise<TaskOutcome> {
    const task = await this.#untilStopped(handle, signal);
    const outcome = outcomeOf(task);
    const taskId = ecsTaskIdOf(handle);
    if (taskId === undefined) throw new TaskRunnerError(`${handle} is not an ECS task ARN`);
    const copy = {
      logs: this.#options.logs,
      logGroupName: this.#options.logGroupName,
      backoff: this.#backoff,
      attempts: this.#attempts,
    };
    const settleMs = this.#options.logSettleMs ?? 2_000;
    await copyTaskOutput(copy, taskId, output, { ms: settleMs, ...optional(signal) });
    return outcome;
  }

  /** ECS takes the grace from the task definition's `stopTimeout`, not from StopTask. */
  async stop(handle: string, _graceSeconds: number): Promise<void> {
    try {
      const input = { cluster: this.#options.clusterArn, task: handle, reason: STOP_REASON };
      await this.#options.ecs.send(new StopTaskCommand(input));
    } catch (error) {
      // Stopping a task that already stopped succeeds; one ECS no longer knows is as good.
      if (error instanceof Error && /not found/i.test(error.message)) return;
      throw error;
    }
  }

  async findTasks(jobId: number, signal?: AbortSignal): Promise<FoundTask[]> {
    const arns = new Set<string>();
    // A stopped task stays listed for about an hour: long enough for a takeover to read it.
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      let nextToken: string | undefined;
      do {
        const page = await this.#options.ecs.send(
          new ListTasksCommand({
            cluster: this.#options.clusterArn,
            startedBy: startedByFor(jobId),
            desiredStatus,
            ...(nextToken === undefined ? {} : { nextToken }),
          }),
          sendOptions(signal),
        );
        for (const arn of page.taskArns ?? []) arns.add(arn);
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
    }
    const found: FoundTask[] = [];
    const all = [...arns];
    for (let from = 0; from < all.length; from += DESCRIBE_MAX_TASKS) {
      const tasks = await this.#describe(all.slice(from, from + DESCRIBE_MAX_TASKS), signal);
      for (const task of tasks) {
        const known = foundTaskOf(task);
        if (known !== undefined) found.push(known);
      }
    }
    return found.sort((a, b) => a.taskIndex - b.taskIndex || a.taskAttempt - b.taskAttempt);
  }

  /**
   * Stops what may still run of the job (a task started by a request whose answer was lost).
   * Task definitions stay registered: they are shared by every job of the same shape, and
   * cost nothing while unused.
   */
  async release(jobId: number): Promise<void> {
    for (const task of await this.findTasks(jobId)) {
      if (task.running) await this.stop(task.handle, 0);
    }
  }

  /** Runs the task; returns its ARN, or why Fargate refused it for now. */
  async #runTask(
    command: RunTaskCommand,
    signal: AbortSignal | undefined,
  ): Promise<{ readonly taskArn: string } | string> {
    try {
      const output = await this.#options.ecs.send(command, sendOptions(signal));
      const taskArn = output.tasks?.[0]?.taskArn;
      if (taskArn !== undefined) return { taskArn };
      const failure = output.failures?.[0];
      const refused = `${failure?.reason ?? 'no task and no failure'} ${failure?.detail ?? ''}`;
      if (!isCapacityFailure(failure?.reason)) {
        throw new TaskRunnerError(`Fargate cannot run the task: ${refused.trim()}`);
      }
      return refused.trim();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!isThrottling(error)) throw error;
      return (error as Error).name;
    }
  }

  #taskDefinitionFor(launch: TaskLaunch): Promise<string> {
    const fit = pickFargateSize(launch);
    if (!fit.fits) throw new TaskRunnerError(fit.reason);
    const input = jobTaskDefinition(this.#settings, {
      image: launch.image,
      size: fit.size,
      jobMemoryMiB: launch.memoryMiB,
      workdir: launch.workdir,
    });
    const family = input.family as string;
    let arn = this.#definitions.get(family);
    if (arn === undefined) {
      // Shared by every start of this shape, so no one caller's signal may cut it short.
      const retry = { attempts: this.#attempts, backoff: this.#backoff };
      arn = withThrottleRetries('ECS', () => this.#findOrRegister(input), retry);
      // A failed lookup is not remembered: the next start asks again.
      arn.catch(() => this.#definitions.delete(family));
      this.#definitions.set(family, arn);
    }
    return arn;
  }

  async #findOrRegister(input: ReturnType<typeof jobTaskDefinition>): Promise<string> {
    const { ecs, logger } = this.#options;
    try {
      const described = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: input.family }),
      );
      const arn = described.taskDefinition?.taskDefinitionArn;
      if (arn !== undefined && described.taskDefinition?.status === 'ACTIVE') return arn;
    } catch (error) {
      // ECS answers a family it does not know with a ClientException.
      if (!(error instanceof Error && error.name === 'ClientException')) throw error;
    }
    const registered = await ecs.send(new RegisterTaskDefinitionCommand(input));
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (arn === undefined) throw new TaskRunnerError(`ECS registered ${input.family} without ARN`);
    logger.info('task definition registered', { family: input.family });
    return arn;
  }

  async #untilStopped(handle: string, signal?: AbortSignal): Promise<Task> {
    const maxMs = this.#options.statusPollMaxMs ?? 10_000;
    let pauseMs = this.#options.statusPollMinMs ?? 1_000;
    for (;;) {
      try {
        const [task] = await this.#describe([handle], signal);
        if (task === undefined) throw new TaskRunnerError(`ECS does not know the task ${handle}`);
        if (task.lastStatus === 'STOPPED') return task;
      } catch (error) {
        // A throttled look is only a late one; the signal bounds the wait.
        if (signal?.aborted || !isThrottling(error)) throw error;
      }
      await this.#backoff.pause(pauseMs, signal);
      pauseMs = Math.min(pauseMs * 2, maxMs);
    }
  }

  async #describe(arns: readonly string[], signal?: AbortSignal): Promise<Task[]> {
    const described = await this.#options.ecs.send(
      new DescribeTasksCommand({
        cluster: this.#options.clusterArn,
        tasks: [...arns],
        include: ['TAGS'],
      }),
      sendOptions(signal),
    );
    return described.tasks ?? [];
  }
}

/** ListTasks finds a job's tasks by this; the tags tell its tasks and attempts apart. */
function startedByFor(jobId: number): string {
  return `flare-job-${jobId}`;
}

/** RunTask's failures that mean "no room now": EC2's RESOURCE:* and Fargate's capacity. */
function isCapacityFailure(reason: string | undefined): boolean {
  return reason !== undefined && (reason.startsWith('RESOURCE:') || /capacity/i.test(reason));
}

function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

function optional(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}
