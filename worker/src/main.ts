import { ECSClient } from '@aws-sdk/client-ecs';
import { createAwsAdapters } from '../../adapters/aws/aws-adapters';
import { EcsTaskRunner } from '../../adapters/aws/ecs-task-runner';
import { StartupError } from '../../core/src/errors';
import { JobExecutor } from '../../core/src/execution/job-executor';
import { createLogger } from '../../core/src/logger';
import { systemClock } from '../../core/src/ports';
import { readAwsWorkerConfig, resolveWorkerId } from './aws-worker-config';
import { JobWorker } from './job-worker';

/**
 * ECS sends SIGKILL 30 seconds after SIGTERM unless the worker's task definition says
 * otherwise; the worker lets go of its jobs within this, and the job tasks keep running for
 * whichever worker takes them over.
 */
const STOP_DEADLINE_MS = 25_000;
/** The job container's SIGTERM-to-SIGKILL time; ECS's own default. */
const JOB_STOP_TIMEOUT_SECONDS = 30;

const logger = createLogger('flare-worker');

/** The Fargate worker: takes jobs from the queue and runs their tasks as Fargate tasks. */
async function main(): Promise<void> {
  const config = readAwsWorkerConfig(process.env);
  logger.setLogLevel(config.logLevel);
  const workerId = await resolveWorkerId(process.env);

  const { store, queue, logs, cloudWatchLogs } = createAwsAdapters(config, logger);
  const runner = new EcsTaskRunner({
    ecs: new ECSClient({ region: config.region }),
    logs: cloudWatchLogs,
    logger,
    region: config.region,
    clusterArn: config.clusterArn,
    subnetIds: config.subnetIds,
    securityGroupIds: config.securityGroupIds,
    assignPublicIp: config.assignPublicIp,
    executionRoleArn: config.taskExecutionRoleArn,
    taskRoleArn: config.jobTaskRoleArn,
    logGroupName: config.jobLogGroupName,
    logRouterImage: config.logRouterImage,
    familyPrefix: config.taskFamilyPrefix,
    stopTimeoutSeconds: JOB_STOP_TIMEOUT_SECONDS,
  });
  const executor = new JobExecutor(
    { store, queue, runner, logs, clock: systemClock, logger },
    {
      workerId,
      leaseDurationMs: config.leaseDurationMs,
      statusPollIntervalMs: config.statusPollIntervalMs,
      stopGraceSeconds: JOB_STOP_TIMEOUT_SECONDS,
    },
  );
  const worker = new JobWorker(
    { queue, executor, logger },
    {
      concurrency: config.workerConcurrency,
      pollWaitTimeSeconds: 20,
      reconcileIntervalMs: config.leaseDurationMs / 2,
      errorBackoffMs: 5_000,
    },
  );
  worker.start();
  logger.info('fargate worker running', { workerId, concurrency: config.workerConcurrency });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('fargate worker stopping', { signal, deadlineMs: STOP_DEADLINE_MS });
    void worker.stop(STOP_DEADLINE_MS).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) {
    logger.critical('fargate worker cannot start', { reason: error.message });
  } else {
    logger.critical('fargate worker failed to start', { error });
  }
  process.exit(1);
});
