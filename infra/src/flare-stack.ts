import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { FlareApi } from './flare-api';
import { FlareAuth } from './flare-auth';
import type { FlareConfig, RemovalChoice } from './flare-config';
import { FlareNetwork } from './flare-network';
import { FlareWorker } from './flare-worker';
import { JobQueues } from './job-queues';
import { JobTable } from './job-table';
import { JobTaskRoles } from './job-task-roles';
import { LogBucket } from './log-bucket';

export interface FlareStackProps extends StackProps {
  /** Read from CDK context by readFlareConfig. */
  readonly config: FlareConfig;
}

/**
 * Flare on AWS: the HTTP API and its functions, the job table, queue and log bucket, and
 * the worker that runs each job's tasks on Fargate.
 */
export class FlareStack extends Stack {
  readonly api: FlareApi;
  readonly worker: FlareWorker;

  constructor(scope: Construct, id: string, props: FlareStackProps) {
    super(scope, id, props);
    const { config } = props;
    // CloudWatch's retention periods are the RetentionDays values; the config checked it.
    const logRetention = config.logRetentionDays as RetentionDays;

    const table = new JobTable(this, 'Jobs', {
      deletionProtection: config.tableDeletionProtection,
      removalPolicy: removalPolicy(config.tableRemovalPolicy),
    }).table;
    const { queue } = new JobQueues(this, 'JobQueue');
    const logBucket = new LogBucket(this, 'JobLogs', {
      logExpirationDays: config.logBucketExpirationDays,
      removalPolicy: removalPolicy(config.logBucketRemovalPolicy),
    }).bucket;
    const jobTasks = new JobTaskRoles(this, 'JobTasks', { logRetention });
    const network = new FlareNetwork(this, 'Network');
    const auth = new FlareAuth(this, 'Auth', { config });

    this.api = new FlareApi(this, 'Api', {
      resources: { table, queue, logBucket, jobLogGroup: jobTasks.logGroup },
      tokens: auth.tokens,
      ...(config.httpApiAuthorizer && auth.authorizerAudience !== undefined
        ? { authorizerAudience: auth.authorizerAudience }
        : {}),
      logRetention,
      logLevel: config.logLevel,
    });

    this.worker = new FlareWorker(this, 'Worker', {
      vpc: network.vpc,
      securityGroup: network.securityGroup,
      table,
      queue,
      logBucket,
      jobLogGroup: jobTasks.logGroup,
      jobExecutionRole: jobTasks.executionRole,
      jobTaskRole: jobTasks.taskRole,
      logRetention,
      minTasks: config.workerMinTasks,
      maxTasks: config.workerMaxTasks,
      concurrency: config.workerConcurrency,
      architecture: config.workerArchitecture,
      leaseSeconds: config.leaseSeconds,
      statusPollMs: config.statusPollMs,
      logLevel: config.logLevel,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'Base URL of the Flare API (PROMINENCE clients use it as is)',
    });
  }
}

function removalPolicy(choice: RemovalChoice): RemovalPolicy {
  return choice === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}
