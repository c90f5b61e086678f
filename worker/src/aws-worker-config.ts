import { randomUUID } from 'node:crypto';
import {
  type AwsResourcesConfig,
  type Env,
  EnvReader,
  matches,
  oneOf,
  readAwsResources,
} from '../../adapters/aws/aws-env';

/**
 * The FireLens router for job tasks. It must be an `init` tag: only that variant exports
 * ECS_TASK_ID to Fluent Bit, which names the job's log streams (see ecs-task-runner.ts).
 */
export const DEFAULT_LOG_ROUTER_IMAGE =
  'public.ecr.aws/aws-observability/aws-for-fluent-bit:init-latest';

/** What the Fargate worker needs, read from the environment its task definition sets. */
export interface AwsWorkerConfig extends AwsResourcesConfig {
  readonly clusterArn: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly assignPublicIp: boolean;
  readonly taskExecutionRoleArn: string;
  readonly jobTaskRoleArn: string;
  readonly logRouterImage: string;
  readonly taskFamilyPrefix: string;
  readonly workerConcurrency: number;
  readonly leaseDurationMs: number;
  readonly statusPollIntervalMs: number;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/**
 * Reads and checks the worker's environment. Every variable that is missing or wrong is named
 * in one StartupError, so a misconfigured stack fails at the worker's start with the full list.
 */
export function readAwsWorkerConfig(env: Env): AwsWorkerConfig {
  const reader = new EnvReader(env);
  const read = reader.read.bind(reader);
  const config: AwsWorkerConfig = {
    ...readAwsResources(reader),
    clusterArn: read(
      'FLARE_CLUSTER_ARN',
      matches(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[\w-]+$/, 'must be a cluster ARN'),
    ),
    subnetIds: reader.list('FLARE_SUBNET_IDS', /^subnet-[0-9a-f]+$/, 'subnet ids'),
    securityGroupIds: reader.list(
      'FLARE_SECURITY_GROUP_IDS',
      /^sg-[0-9a-f]+$/,
      'security group ids',
    ),
    assignPublicIp:
      read('FLARE_ASSIGN_PUBLIC_IP', oneOf(['true', 'false'])).toLowerCase() === 'true',
    taskExecutionRoleArn: read(
      'FLARE_TASK_EXECUTION_ROLE_ARN',
      matches(ROLE_ARN, 'must be an IAM role ARN'),
    ),
    jobTaskRoleArn: read('FLARE_JOB_TASK_ROLE_ARN', matches(ROLE_ARN, 'must be an IAM role ARN')),
    logRouterImage: read(
      'FLARE_LOG_ROUTER_IMAGE',
      matches(/^\S+$/, 'must be an image name'),
      DEFAULT_LOG_ROUTER_IMAGE,
    ),
    taskFamilyPrefix: read(
      'FLARE_TASK_FAMILY_PREFIX',
      matches(/^[A-Za-z0-9_-]{1,200}$/, 'must be letters, digits, - and _ (at most 200)'),
      'flare-job',
    ),
    workerConcurrency: reader.integer('FLARE_WORKER_CONCURRENCY', 10, 1, 100),
    leaseDurationMs: reader.integer('FLARE_LEASE_SECONDS', 60, 10, 3600) * 1000,
    statusPollIntervalMs: reader.integer('FLARE_STATUS_POLL_MS', 2000, 100, 60_000),
  };
  reader.assertValid("The worker's");
  return config;
}

/**
 * The worker's id: its ECS task's id, from the task metadata endpoint ECS gives every
 * container, so that job leases name a task an operator can find. A random id elsewhere, or
 * when the endpoint does not answer within a second.
 */
export async function resolveWorkerId(
  env: Env,
  fetchJson: (url: string, signal: AbortSignal) => Promise<unknown> = fetchJsonBody,
): Promise<string> {
  const endpoint = env.ECS_CONTAINER_METADATA_URI_V4;
  if (endpoint !== undefined && endpoint !== '') {
    try {
      const task = await fetchJson(`${endpoint}/task`, AbortSignal.timeout(1_000));
      const arn = (task as { TaskARN?: unknown } | null)?.TaskARN;
      const id = typeof arn === 'string' ? arn.split('/').pop() : undefined;
      if (id !== undefined && id !== '') return id;
    } catch {
      // No metadata means no task id to name the worker by; a random one serves.
    }
  }
  return `worker-${randomUUID()}`;
}

async function fetchJsonBody(url: string, signal: AbortSignal): Promise<unknown> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`Task metadata answered ${response.status}`);
  return response.json();
}
