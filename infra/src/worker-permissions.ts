import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Cluster } from 'aws-cdk-lib/aws-ecs';
import { Grant, type IRole } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { JOB_LOG_PREFIX } from './log-bucket';
import {
  grantListLogBucket,
  JOB_LOG_OBJECTS_REASON,
  TABLE_INDEXES_REASON,
} from './route-permissions';
import {
  ANY_RESOURCE_FINDING,
  acknowledgeWildcard,
  arnSuffixFinding,
  refOf,
  stackArnFinding,
} from './wildcard-findings';

export interface WorkerResources {
  readonly table: Table;
  readonly queue: IQueue;
  readonly logBucket: Bucket;
  readonly jobLogGroup: ILogGroup;
  readonly cluster: Cluster;
  /** Task definition families the worker registers start with this. */
  readonly taskFamilyPrefix: string;
  /** The roles the worker hands to the job tasks it starts. */
  readonly jobRoles: readonly IRole[];
}

/**
 * Grants the worker's task role what the worker calls: the job store and queue, the job
 * tasks in its cluster, the roles those tasks run with, and the job logs (CloudWatch while a
 * task runs, S3 after).
 */
export function grantWorkerAccess(grantee: IRole, resources: WorkerResources): void {
  const { table, queue, logBucket, jobLogGroup, cluster } = resources;

  table.grant(
    grantee,
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:BatchGetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
  );
  queue.grant(
    grantee,
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:SendMessage',
    'sqs:GetQueueAttributes',
    'sqs:ChangeMessageVisibility',
  );
  logBucket.grants.actionsOnObjectKeys(
    grantee,
    `${JOB_LOG_PREFIX}*`,
    's3:GetObject',
    's3:PutObject',
  );
  grantListLogBucket(grantee, logBucket);
  jobLogGroup.grant(grantee, 'logs:GetLogEvents', 'logs:FilterLogEvents');
  acknowledgeWildcard(grantee, arnSuffixFinding(table, '/index/*'), TABLE_INDEXES_REASON);
  acknowledgeWildcard(
    grantee,
    arnSuffixFinding(logBucket, `/${JOB_LOG_PREFIX}*`),
    JOB_LOG_OBJECTS_REASON,
  );

  const stack = Stack.of(cluster);
  const inCluster = { ArnEquals: { 'ecs:cluster': cluster.clusterArn } };
  // Registering and describing task definitions takes no resource-level permission.
  Grant.addToPrincipal({
    grantee,
    actions: ['ecs:RegisterTaskDefinition', 'ecs:DescribeTaskDefinition'],
    resourceArns: ['*'],
  });
  Grant.addToPrincipal({
    grantee,
    actions: ['ecs:RunTask'],
    resourceArns: [
      stack.formatArn({
        service: 'ecs',
        resource: 'task-definition',
        resourceName: `${resources.taskFamilyPrefix}*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    ],
    conditions: inCluster,
  });
  const taskArns = stack.formatArn({
    service: 'ecs',
    resource: 'task',
    resourceName: `${cluster.clusterName}/*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  Grant.addToPrincipal({
    grantee,
    actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
    resourceArns: [taskArns],
    conditions: inCluster,
  });
  // RunTask tags each task with its job; tagging on create is a permission of its own.
  Grant.addToPrincipal({
    grantee,
    actions: ['ecs:TagResource'],
    resourceArns: [taskArns],
    conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
  });
  // ListTasks names no task, only the cluster it lists; the condition keeps it to ours.
  Grant.addToPrincipal({
    grantee,
    actions: ['ecs:ListTasks'],
    resourceArns: ['*'],
    conditions: inCluster,
  });
  for (const role of resources.jobRoles) {
    role.grantPassRole(grantee);
  }
  acknowledgeEcsWildcards(grantee, resources);
}

function acknowledgeEcsWildcards(grantee: IRole, resources: WorkerResources): void {
  acknowledgeWildcard(
    grantee,
    ANY_RESOURCE_FINDING,
    'ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition support no resource-level ' +
      'permissions; ecs:ListTasks names no resource and is held to this cluster by the ' +
      'ecs:cluster condition',
  );
  acknowledgeWildcard(
    grantee,
    stackArnFinding('ecs', `task-definition/${resources.taskFamilyPrefix}*`),
    'The worker registers one task definition family per job shape, named after a hash of ' +
      'the shape, so only the prefix is known; RunTask is also held to this cluster',
  );
  acknowledgeWildcard(
    grantee,
    stackArnFinding('ecs', `task/${refOf(resources.cluster)}/*`),
    'Job tasks are started at run time; the ARN covers the tasks of this cluster only',
  );
}
