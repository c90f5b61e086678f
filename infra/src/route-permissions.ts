import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IRole } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { FlareConfigError } from './context-values';
import { JOB_LOG_PREFIX } from './log-bucket';
import { acknowledgeWildcard, arnSuffixFinding } from './wildcard-findings';

/** What one route's handler does beyond reading jobs, which every route does. */
export type RouteNeed = 'submit-jobs' | 'update-jobs' | 'read-logs';

/**
 * The permissions of each route's function, by route name. A route added to ROUTES without
 * an entry here fails synthesis, so no function is deployed with permissions nobody chose.
 */
export const ROUTE_NEEDS: Readonly<Record<string, readonly RouteNeed[]>> = {
  health: [],
  'create-job': ['submit-jobs'],
  'list-jobs': [],
  'delete-jobs': ['update-jobs'],
  'describe-job': [],
  'delete-job': ['update-jobs'],
  'remove-job': ['update-jobs'],
  'job-stdout': ['read-logs'],
  'job-stderr': ['read-logs'],
};

export interface RouteResources {
  readonly table: Table;
  readonly queue: IQueue;
  readonly logBucket: Bucket;
  readonly jobLogGroup: ILogGroup;
}

/** The DynamoDB calls the job store makes to read jobs (get, list, batch describe). */
const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];

/** Grants a route's function (its role) exactly what its handler calls, on Flare's resources. */
export function grantRouteAccess(
  routeName: string,
  grantee: IRole,
  resources: RouteResources,
): void {
  const needs = ROUTE_NEEDS[routeName];
  if (needs === undefined) {
    throw new FlareConfigError(
      `Route ${routeName} has no entry in ROUTE_NEEDS (infra/src/route-permissions.ts): ` +
        'list what its handler calls there before it can be deployed',
    );
  }
  const { table, queue, logBucket, jobLogGroup } = resources;

  table.grant(grantee, ...TABLE_READ);
  acknowledgeWildcard(grantee, arnSuffixFinding(table, '/index/*'), TABLE_INDEXES_REASON);
  if (needs.includes('submit-jobs')) {
    // The id counter is an UpdateItem, the new job a conditional PutItem.
    table.grant(grantee, 'dynamodb:UpdateItem', 'dynamodb:PutItem');
    queue.grant(grantee, 'sqs:SendMessage');
  }
  if (needs.includes('update-jobs')) {
    table.grant(grantee, 'dynamodb:UpdateItem');
  }
  if (needs.includes('read-logs')) {
    logBucket.grants.actionsOnObjectKeys(grantee, `${JOB_LOG_PREFIX}*`, 's3:GetObject');
    grantListLogBucket(grantee, logBucket);
    acknowledgeWildcard(
      grantee,
      arnSuffixFinding(logBucket, `/${JOB_LOG_PREFIX}*`),
      JOB_LOG_OBJECTS_REASON,
    );
    jobLogGroup.grant(grantee, 'logs:GetLogEvents', 'logs:FilterLogEvents');
  }
}

/** Shared with the worker's grants, which need the same two wildcards. */
export const TABLE_INDEXES_REASON =
  "The job store queries the table's indexes (byOwner, byUnfinished); the ARN covers the " +
  'indexes of this one table and nothing else';
export const JOB_LOG_OBJECTS_REASON =
  'Job logs are the objects logs/<jobId>/stdout and logs/<jobId>/stderr, and jobs are ' +
  'created at run time, so the prefix is the narrowest scope; which job a caller may read is ' +
  'checked against the job record before any object is fetched';

/**
 * S3 answers a read of a missing key with 404 only to callers that may list the bucket, and
 * with 403 to everyone else; the log store needs the 404 to tell "no output yet" from a real
 * denial (see adapters/aws/aws-log-store.ts). No `s3:prefix` condition: a GetObject or
 * HeadObject request carries no prefix for one to match, so it would never allow the 404.
 */
export function grantListLogBucket(grantee: IRole, logBucket: Bucket): void {
  Grant.addToPrincipal({
    grantee,
    actions: ['s3:ListBucket'],
    resourceArns: [logBucket.bucketArn],
  });
}
