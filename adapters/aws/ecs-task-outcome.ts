import type { Task } from '@aws-sdk/client-ecs';
import { ImagePullError, TaskRunnerError } from '../../core/src/errors';
import type { FoundTask, TaskOutcome } from '../../core/src/ports';
import { JOB_CONTAINER } from './ecs-task-definition';

/** Tags on every job task: how findTasks tells a job's tasks and attempts apart. */
export const TASK_TAGS = {
  job: 'flare:job',
  task: 'flare:task',
  attempt: 'flare:attempt',
} as const;

/** The exit code reported for a job container stopped before it ever ran, as SIGTERM's. */
const STOPPED_UNSTARTED_EXIT_CODE = 143;

/**
 * How a stopped task ended, from ECS's facts: the job container's exit code and reason, the
 * task's times. Throws ImagePullError for a task that stopped because its image could not be
 * pulled, and TaskRunnerError for one that ended without the job container's exit code for any
 * other reason (a network or role problem, a crashed log router).
 */
export function outcomeOf(task: Task): TaskOutcome {
  const container = task.containers?.find((c) => c.name === JOB_CONTAINER);
  const reasons = [task.stoppedReason, container?.reason].filter((r) => r !== undefined);
  if (reasons.some((reason) => reason.includes('CannotPullContainerError'))) {
    throw new ImagePullError(`Fargate could not pull the image: ${reasons.join('; ')}`);
  }
  let exitCode = container?.exitCode;
  if (exitCode === undefined && task.stopCode === 'UserInitiated') {
    exitCode = STOPPED_UNSTARTED_EXIT_CODE;
  }
  if (exitCode === undefined) {
    const why = reasons.join('; ') || task.stopCode || 'no reason given';
    throw new TaskRunnerError(`The task ${task.taskArn} stopped without an exit code: ${why}`);
  }
  const pullSeconds = secondsBetween(task.pullStartedAt, task.pullStoppedAt);
  return {
    exitCode,
    // The task stops some seconds after the job container, while the router flushes.
    wallTimeSeconds: secondsBetween(task.startedAt, task.executionStoppedAt ?? task.stoppedAt) ?? 0,
    oomKilled: (container?.reason ?? '').includes('OutOfMemoryError'),
    ...(pullSeconds === undefined ? {} : { imagePullSeconds: pullSeconds }),
  };
}

/** The task as findTasks reports it; undefined for a task without Flare's tags. */
export function foundTaskOf(task: Task): FoundTask | undefined {
  const tags = new Map((task.tags ?? []).map((tag) => [tag.key, tag.value]));
  const taskIndex = Number(tags.get(TASK_TAGS.task));
  const taskAttempt = Number(tags.get(TASK_TAGS.attempt));
  if (task.taskArn === undefined || !Number.isInteger(taskIndex)) return undefined;
  if (!Number.isInteger(taskAttempt)) return undefined;
  return { handle: task.taskArn, taskIndex, taskAttempt, running: task.lastStatus !== 'STOPPED' };
}

function secondsBetween(from: Date | undefined, to: Date | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  return Math.max(0, to.getTime() - from.getTime()) / 1000;
}
