import { randomUUID } from 'node:crypto';
import { StartupError } from '../../core/src/errors';

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * The FireLens router for job tasks. It must be an `init` tag: only that variant exports
 * ECS_TASK_ID to Fluent Bit, which names the job's log streams (see ecs-task-runner.ts).
 */
export const DEFAULT_LOG_ROUTER_IMAGE =
  'public.ecr.aws/aws-observability/aws-for-fluent-bit:init-latest';

/** What the Fargate worker needs, read from the environment its task definition sets. */
export interface AwsWorkerConfig {
  readonly region: string;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly logBucket: string;
  readonly jobLogGroupName: string;
  readonly logLevel: LogLevelName;
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

/** Says what is wrong with a set value, or undefined when it is fine. */
type Rule = (value: string) => string | undefined;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/**
 * Reads and checks the worker's environment. Every variable that is missing or wrong is named
 * in one StartupError, so a misconfigured stack fails at the worker's start with the full list.
 */
export function readAwsWorkerConfig(env: Env): AwsWorkerConfig {
  const problems: string[] = [];
  const read = (name: string, rule: Rule, fallback?: string): string => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') {
      if (fallback === undefined) problems.push(`${name} is not set`);
      return fallback ?? '';
    }
    const problem = rule(raw);
    if (problem !== undefined) problems.push(`${name} ${problem} (got ${raw})`);
    return raw;
  };
  const list = (name: string, pattern: RegExp, what: string): string[] => {
    const rule: Rule = (value) => {
      const items = splitList(value);
      const valid = items.length > 0 && items.every((item) => pattern.test(item));
      return valid ? undefined : `must be a comma-separated list of ${what}`;
    };
    return splitList(read(name, rule));
  };
  const integer = (name: string, fallback: number, min: number, max: number): number =>
    Number(read(name, integerRule(min, max), String(fallback)));

  const config: AwsWorkerConfig = {
    region: read('AWS_REGION', matches(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region')),
    tableName: read('FLARE_TABLE_NAME', matches(/^[\w.-]{3,255}$/, 'must be a table name')),
    queueUrl: read('FLARE_QUEUE_URL', matches(/^https?:\/\/\S+$/, 'must be an SQS queue URL')),
    logBucket: read(
      'FLARE_LOG_BUCKET',
      matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    ),
    jobLogGroupName: read(
      'FLARE_JOB_LOG_GROUP',
      matches(/^[\w./#-]{1,512}$/, 'must be a CloudWatch Logs group name'),
    ),
    logLevel: read('FLARE_LOG_LEVEL', oneOf(LOG_LEVELS), 'INFO').toUpperCase() as LogLevelName,
    clusterArn: read(
      'FLARE_CLUSTER_ARN',
      matches(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[\w-]+$/, 'must be a cluster ARN'),
    ),
    subnetIds: list('FLARE_SUBNET_IDS', /^subnet-[0-9a-f]+$/, 'subnet ids'),
    securityGroupIds: list('FLARE_SECURITY_GROUP_IDS', /^sg-[0-9a-f]+$/, 'security group ids'),
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
    workerConcurrency: integer('FLARE_WORKER_CONCURRENCY', 10, 1, 100),
    leaseDurationMs: integer('FLARE_LEASE_SECONDS', 60, 10, 3600) * 1000,
    statusPollIntervalMs: integer('FLARE_STATUS_POLL_MS', 2000, 100, 60_000),
  };
  if (problems.length > 0) {
    throw new StartupError(`The worker's environment is not valid: ${problems.join('; ')}`);
  }
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

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function matches(pattern: RegExp, requirement: string): Rule {
  return (value) => (pattern.test(value) ? undefined : requirement);
}

/** One of `allowed`, in any case. */
function oneOf(allowed: readonly string[]): Rule {
  const upper = allowed.map((item) => item.toUpperCase());
  return (value) =>
    upper.includes(value.toUpperCase()) ? undefined : `must be one of ${allowed.join(', ')}`;
}

function integerRule(min: number, max: number): Rule {
  return (value) => {
    const number = Number(value);
    return Number.isInteger(number) && number >= min && number <= max
      ? undefined
      : `must be an integer from ${min} to ${max}`;
  };
}
