import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StartupError } from '../../core/src/errors';
import { readAwsWorkerConfig, resolveWorkerId } from '../../worker/src/aws-worker-config';

/** The environment the stack gives the worker, with only the required variables. */
const REQUIRED = {
  AWS_REGION: 'eu-west-2',
  FLARE_TABLE_NAME: 'flare-jobs',
  FLARE_QUEUE_URL: 'https://sqs.eu-west-2.amazonaws.com/123456789012/flare-jobs',
  FLARE_LOG_BUCKET: 'flare-logs-123456789012',
  FLARE_JOB_LOG_GROUP: '/flare/jobs',
  FLARE_CLUSTER_ARN: 'arn:aws:ecs:eu-west-2:123456789012:cluster/flare',
  FLARE_SUBNET_IDS: 'subnet-0a1b, subnet-0c2d',
  FLARE_SECURITY_GROUP_IDS: 'sg-0e3f',
  FLARE_ASSIGN_PUBLIC_IP: 'true',
  FLARE_TASK_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/flare-job-execution',
  FLARE_JOB_TASK_ROLE_ARN: 'arn:aws:iam::123456789012:role/flare-job',
} as const;

describe('readAwsWorkerConfig', () => {
  it('reads the required variables and documents a default for the rest', () => {
    // Act
    const config = readAwsWorkerConfig(REQUIRED);

    // Assess
    assert.deepEqual(config, {
      region: 'eu-west-2',
      tableName: 'flare-jobs',
      queueUrl: REQUIRED.FLARE_QUEUE_URL,
      logBucket: 'flare-logs-123456789012',
      jobLogGroupName: '/flare/jobs',
      logLevel: 'INFO',
      clusterArn: REQUIRED.FLARE_CLUSTER_ARN,
      subnetIds: ['subnet-0a1b', 'subnet-0c2d'],
      securityGroupIds: ['sg-0e3f'],
      assignPublicIp: true,
      taskExecutionRoleArn: REQUIRED.FLARE_TASK_EXECUTION_ROLE_ARN,
      jobTaskRoleArn: REQUIRED.FLARE_JOB_TASK_ROLE_ARN,
      logRouterImage: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:init-latest',
      taskFamilyPrefix: 'flare-job',
      workerConcurrency: 10,
      leaseDurationMs: 60_000,
      statusPollIntervalMs: 2_000,
    });
  });

  it('takes the optional variables when they are set', () => {
    // Act
    const config = readAwsWorkerConfig({
      ...REQUIRED,
      FLARE_ASSIGN_PUBLIC_IP: 'FALSE',
      FLARE_LOG_LEVEL: 'debug',
      FLARE_LOG_ROUTER_IMAGE: 'example.com/router:init-2.32.0',
      FLARE_TASK_FAMILY_PREFIX: 'flare-test-job',
      FLARE_WORKER_CONCURRENCY: '3',
      FLARE_LEASE_SECONDS: '45',
      FLARE_STATUS_POLL_MS: '500',
    });

    // Assess
    assert.equal(config.assignPublicIp, false);
    assert.equal(config.logLevel, 'DEBUG');
    assert.equal(config.logRouterImage, 'example.com/router:init-2.32.0');
    assert.equal(config.taskFamilyPrefix, 'flare-test-job');
    assert.equal(config.workerConcurrency, 3);
    assert.equal(config.leaseDurationMs, 45_000);
    assert.equal(config.statusPollIntervalMs, 500);
  });

  it('names every missing and every wrong variable in one error', () => {
    // Prepare
    const { FLARE_TABLE_NAME: _table, FLARE_CLUSTER_ARN: _cluster, ...partial } = REQUIRED;

    // Act
    const reading = () =>
      readAwsWorkerConfig({
        ...partial,
        FLARE_SUBNET_IDS: 'subnet-0a1b,vpc-123',
        FLARE_ASSIGN_PUBLIC_IP: 'yes',
        FLARE_JOB_TASK_ROLE_ARN: 'flare-job',
        FLARE_WORKER_CONCURRENCY: '0',
      });

    // Assess
    assert.throws(reading, (error) => {
      assert.ok(error instanceof StartupError);
      assert.equal(
        error.message,
        "The worker's environment is not valid: FLARE_TABLE_NAME is not set; " +
          'FLARE_CLUSTER_ARN is not set; ' +
          'FLARE_SUBNET_IDS must be a comma-separated list of subnet ids (got subnet-0a1b,vpc-123); ' +
          'FLARE_ASSIGN_PUBLIC_IP must be one of true, false (got yes); ' +
          'FLARE_JOB_TASK_ROLE_ARN must be an IAM role ARN (got flare-job); ' +
          'FLARE_WORKER_CONCURRENCY must be an integer from 1 to 100 (got 0)',
      );
      return true;
    });
  });
});

describe('resolveWorkerId', () => {
  it("names the worker after its ECS task, from the task's metadata", async () => {
    // Prepare
    const env = { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' };
    const asked: string[] = [];
    const fetchJson = async (url: string) => {
      asked.push(url);
      return { TaskARN: 'arn:aws:ecs:eu-west-2:123456789012:task/flare/9f8e7d6c5b4a' };
    };

    // Act
    const id = await resolveWorkerId(env, fetchJson);

    // Assess
    assert.equal(id, '9f8e7d6c5b4a');
    assert.deepEqual(asked, ['http://169.254.170.2/v4/abc/task']);
  });

  it('falls back to a random id outside ECS or when the metadata does not answer', async () => {
    // Prepare
    const failing = async () => {
      throw new Error('connect ECONNREFUSED');
    };

    // Act
    const outside = await resolveWorkerId({}, failing);
    const unanswered = await resolveWorkerId(
      { ECS_CONTAINER_METADATA_URI_V4: 'http://x' },
      failing,
    );

    // Assess
    assert.match(outside, /^worker-[0-9a-f-]{36}$/);
    assert.match(unanswered, /^worker-[0-9a-f-]{36}$/);
    assert.notEqual(outside, unanswered);
  });
});
