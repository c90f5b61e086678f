/**
 * What each function and role may do, written out again rather than derived from the infra
 * code, so that a change of permissions has to be made in two places on purpose.
 */

const WRITE_OWN_LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const READ_JOBS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'];

const readOnly = [...WRITE_OWN_LOGS, ...READ_JOBS];
const updating = [...readOnly, 'dynamodb:UpdateItem'];
const logReading = [
  ...readOnly,
  's3:GetObject',
  's3:ListBucket',
  'logs:FilterLogEvents',
  'logs:GetLogEvents',
];

export const EXPECTED_ROUTE_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  health: readOnly,
  'create-job': [...readOnly, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'sqs:SendMessage'],
  'list-jobs': readOnly,
  'delete-jobs': updating,
  'describe-job': readOnly,
  'delete-job': updating,
  'remove-job': updating,
  'job-stdout': logReading,
  'job-stderr': logReading,
};

export const EXPECTED_WORKER_ACTIONS: readonly string[] = [
  ...READ_JOBS,
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ReceiveMessage',
  'sqs:SendMessage',
  's3:GetObject',
  's3:PutObject',
  's3:ListBucket',
  'logs:FilterLogEvents',
  'logs:GetLogEvents',
  'ecs:DescribeTaskDefinition',
  'ecs:RegisterTaskDefinition',
  'ecs:RunTask',
  'ecs:StopTask',
  'ecs:DescribeTasks',
  'ecs:ListTasks',
  'ecs:TagResource',
  'iam:PassRole',
];

/** The job tasks' roles: their log router writes the job log group, and nothing else. */
export const EXPECTED_JOB_ROLE_ACTIONS: readonly string[] = WRITE_OWN_LOGS;

/** Actions that AWS offers no resource-level permission for (or, for ListTasks, none to name). */
export const ANY_RESOURCE_ACTIONS: ReadonlySet<string> = new Set([
  'ecs:RegisterTaskDefinition',
  'ecs:DescribeTaskDefinition',
  'ecs:ListTasks',
  'ecr:GetAuthorizationToken',
]);

/** Services whose resources hold data: never granted on `*`. */
export const DATA_SERVICES = ['dynamodb:', 's3:', 'sqs:', 'logs:'] as const;

/** Every environment variable the route handler reads (functions/src/lambda/aws-api-config.ts). */
export const LAMBDA_ENV_KEYS = [
  'FLARE_TABLE_NAME',
  'FLARE_QUEUE_URL',
  'FLARE_LOG_BUCKET',
  'FLARE_JOB_LOG_GROUP',
  'FLARE_LOG_LEVEL',
  'FLARE_ROUTE',
  'FLARE_BASE_PATH',
  'FLARE_JWT_ISSUER',
  'FLARE_JWKS_URI',
  'FLARE_USERNAME_CLAIM',
  'FLARE_GROUPS_CLAIM',
  'NODE_OPTIONS',
] as const;

/** Every environment variable the worker reads (worker/src/aws-worker-config.ts). */
export const WORKER_ENV_KEYS = [
  'FLARE_TABLE_NAME',
  'FLARE_QUEUE_URL',
  'FLARE_LOG_BUCKET',
  'FLARE_JOB_LOG_GROUP',
  'FLARE_LOG_LEVEL',
  'FLARE_CLUSTER_ARN',
  'FLARE_SUBNET_IDS',
  'FLARE_SECURITY_GROUP_IDS',
  'FLARE_ASSIGN_PUBLIC_IP',
  'FLARE_TASK_EXECUTION_ROLE_ARN',
  'FLARE_JOB_TASK_ROLE_ARN',
  'FLARE_LOG_ROUTER_IMAGE',
  'FLARE_TASK_FAMILY_PREFIX',
  'FLARE_WORKER_CONCURRENCY',
  'FLARE_LEASE_SECONDS',
  'FLARE_STATUS_POLL_MS',
] as const;

/** The AwsSolutions rules the stack acknowledges, each with its reason at the resource. */
export const ACKNOWLEDGED_RULES: ReadonlySet<string> = new Set([
  'AwsSolutions-S1',
  'AwsSolutions-VPC7',
  'AwsSolutions-COG2',
  'AwsSolutions-COG8',
  'AwsSolutions-APIG4',
  'AwsSolutions-L1',
  'AwsSolutions-ECS2',
  'AwsSolutions-IAM5',
]);
