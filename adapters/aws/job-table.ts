import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { FlareError, StartupError, ValidationError } from '../../core/src/errors';
import { isJobStatus, type JobStatus } from '../../core/src/job-states';
import type {
  JobChanges,
  JobExecution,
  JobRecord,
  JobSpec,
  RunState,
  WorkerLease,
} from '../../core/src/job-types';

/**
 * The job table's keys and indexes, independent of its name. The CDK stack declares the same
 * table from these constants, so local mode, tests and AWS cannot drift apart.
 */
export const JOB_TABLE_PARTITION_KEY = { name: 'pk', type: 'S' } as const;

/** An owner's jobs, split into the active and finished lists by the prefix of `listKey`. */
export const BY_OWNER_INDEX = {
  indexName: 'byOwner',
  partitionKey: { name: 'owner', type: 'S' },
  sortKey: { name: 'listKey', type: 'S' },
} as const;

/** Sparse: only pending and running jobs carry `unfinishedStatus`. */
export const BY_UNFINISHED_INDEX = {
  indexName: 'byUnfinished',
  partitionKey: { name: 'unfinishedStatus', type: 'S' },
  sortKey: { name: 'id', type: 'N' },
} as const;

export const JOB_TABLE_INDEXES = [BY_OWNER_INDEX, BY_UNFINISHED_INDEX] as const;

/** The attribute definitions: every key of the table and of its indexes (none is shared). */
export const JOB_TABLE_ATTRIBUTES = [
  JOB_TABLE_PARTITION_KEY,
  ...JOB_TABLE_INDEXES.flatMap((index) => [index.partitionKey, index.sortKey]),
] as const;

const TABLE_READY_MAX_WAIT_SECONDS = 300;

/**
 * Creates the job table when it does not exist yet, and waits until it can be used. For local
 * mode and tests; on AWS the CDK stack owns the table.
 */
export async function ensureJobTable(
  client: DynamoDBClient,
  tableName: string,
  signal?: AbortSignal,
): Promise<void> {
  const options = signal ? { abortSignal: signal } : {};

  let table = await describeTable(client, tableName, signal);
  if (!table) {
    try {
      const created = await client.send(new CreateTableCommand(jobTableInput(tableName)), options);
      table = created.TableDescription;
    } catch (error) {
      // Another process created it between our describe and create: that is what we wanted.
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
      table = await describeTable(client, tableName, signal);
    }
  }

  if (table?.TableStatus !== 'ACTIVE') {
    await waitUntilTableExists(
      {
        client,
        maxWaitTime: TABLE_READY_MAX_WAIT_SECONDS,
        minDelay: 1,
        ...(signal ? { abortSignal: signal } : {}),
      },
      { TableName: tableName },
    );
    table = await describeTable(client, tableName, signal);
  }

  assertIndexes(tableName, table);
}

function jobTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: JOB_TABLE_ATTRIBUTES.map((key) => ({
      AttributeName: key.name,
      AttributeType: key.type,
    })),
    KeySchema: [{ AttributeName: JOB_TABLE_PARTITION_KEY.name, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: JOB_TABLE_INDEXES.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

async function describeTable(
  client: DynamoDBClient,
  tableName: string,
  signal: AbortSignal | undefined,
): Promise<TableDescription | undefined> {
  try {
    const output = await client.send(
      new DescribeTableCommand({ TableName: tableName }),
      signal ? { abortSignal: signal } : {},
    );
    return output.Table;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** A table left by an older layout would fail every list query later, and less clearly. */
function assertIndexes(tableName: string, table: TableDescription | undefined): void {
  const present = new Set((table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const missing = JOB_TABLE_INDEXES.filter((index) => !present.has(index.indexName));
  if (missing.length > 0) {
    const names = missing.map((index) => index.indexName).join(', ');
    throw new StartupError(
      `Table ${tableName} exists without the index(es) ${names}; delete it so Flare can ` +
        'create it again, or point Flare at another table name',
    );
  }
}

// How a JobRecord sits in an item. Index keys stay top-level attributes; everything else is
// stored in whatever form reads back exactly as it was written.

/** An item as the document client reads and writes it. */
export type JobItem = Record<string, unknown>;

const JOB_KEY_PREFIX = 'JOB#';
export const ACTIVE_PREFIX = 'A#';
export const FINISHED_PREFIX = 'F#';

/** Numbers in sort keys are zero-padded so that string order is numeric order. */
const SORT_KEY_DIGITS = 12;

export function jobKey(id: number): string {
  return `${JOB_KEY_PREFIX}${id}`;
}

/**
 * Active jobs sort by id; finished ones by end time, then id, so a descending query lists the
 * most recently finished first.
 */
export function listKeyFor(id: number, inQueue: boolean, endTime: number | undefined): string {
  if (inQueue) return `${ACTIVE_PREFIX}${padded(id, 'id')}`;
  if (endTime === undefined) {
    throw new ValidationError(`Job ${id} cannot leave the queue without an endTime`);
  }
  return `${FINISHED_PREFIX}${padded(endTime, 'endTime')}#${padded(id, 'id')}`;
}

/** The value of the sparse `unfinishedStatus` attribute, absent once a job has finished. */
export function unfinishedStatusFor(status: JobStatus): string | undefined {
  return status === 'pending' || status === 'running' ? status : undefined;
}

/**
 * A list cursor is the byOwner key of the last job on the page, as base64url JSON. It is
 * checked on the way back in, since DynamoDB would otherwise start a query of one owner's
 * list from wherever a forged key points.
 */
export function encodeListCursor(item: JobItem): string {
  const key = { pk: item.pk, owner: item.owner, listKey: item.listKey };
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeListCursor(cursor: string, owner: string, listPrefix: string): JobItem {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new ValidationError('The cursor is not one this service gave out', { cause });
  }
  const { pk, owner: keyOwner, listKey } = (key ?? {}) as JobItem;
  const valid =
    typeof key === 'object' &&
    Object.keys(key ?? {}).length === 3 &&
    isString(pk) &&
    pk.startsWith(JOB_KEY_PREFIX) &&
    keyOwner === owner &&
    isString(listKey) &&
    listKey.startsWith(listPrefix);
  if (!valid) throw new ValidationError('The cursor is not one this service gave out');
  return { pk, owner, listKey };
}

/**
 * The stored form of the fields an update may set. `execution` and `runState` are JSON
 * strings, which round-trip exactly whatever they hold; `lease` stays a map because updates
 * test `lease.workerId` in their condition.
 */
export function encodeChanges(changes: JobChanges): JobItem {
  const { lease, execution, runState } = changes;
  return {
    status: changes.status,
    statusReason: changes.statusReason,
    startTime: changes.startTime,
    queuedTime: changes.queuedTime,
    endTime: changes.endTime,
    inQueue: changes.inQueue,
    attempt: changes.attempt,
    execution: execution === undefined ? undefined : JSON.stringify(execution),
    lease:
      lease === undefined
        ? undefined
        : { workerId: lease.workerId, expiresAtMs: lease.expiresAtMs },
    runState: runState === undefined ? undefined : JSON.stringify(runState),
  };
}

export function toJobItem(job: JobRecord): JobItem {
  const item: JobItem = {
    ...encodeChanges(job),
    pk: jobKey(job.id),
    id: job.id,
    owner: job.owner,
    groups: [...job.groups],
    spec: JSON.stringify(job.spec),
    createTime: job.createTime,
    listKey: listKeyFor(job.id, job.inQueue, job.endTime),
    unfinishedStatus: unfinishedStatusFor(job.status),
  };
  // Absent fields are left off here rather than trusting the client's marshall options.
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined));
}

export function fromJobItem(item: JobItem): JobRecord {
  const must = <T>(field: string, guard: Guard<T>): T => {
    const value = item[field];
    if (!guard(value)) throw malformed(item, field);
    return value;
  };
  const may = <K extends string, T>(field: K, guard: Guard<T>) =>
    (item[field] === undefined ? {} : { [field]: must(field, guard) }) as { [P in K]?: T };
  const json = (field: string): unknown => {
    const text = must(field, isString);
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw malformed(item, field, cause);
    }
  };

  return {
    id: must('id', isNumber),
    owner: must('owner', isString),
    groups: must('groups', isStrings),
    status: must('status', isStatus),
    ...may('statusReason', isString),
    spec: json('spec') as JobSpec,
    createTime: must('createTime', isNumber),
    ...may('queuedTime', isNumber),
    ...may('startTime', isNumber),
    ...may('endTime', isNumber),
    inQueue: must('inQueue', isBoolean),
    attempt: must('attempt', isNumber),
    ...(item.execution === undefined ? {} : { execution: json('execution') as JobExecution }),
    ...may('lease', isLease),
    ...(item.runState === undefined ? {} : { runState: json('runState') as RunState }),
  };
}

function padded(value: number, field: string): string {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 10 ** SORT_KEY_DIGITS) {
    throw new ValidationError(
      `${field} must be a whole number from 0 to ${10 ** SORT_KEY_DIGITS - 1}, not ${value}`,
    );
  }
  return String(value).padStart(SORT_KEY_DIGITS, '0');
}

/** A damaged item fails loudly here rather than leaking values of the wrong type. */
function malformed(item: JobItem, field: string, cause?: unknown): FlareError {
  const message = `Stored item ${String(item.pk)} has a malformed ${field}`;
  return new FlareError(message, cause === undefined ? undefined : { cause });
}

type Guard<T> = (value: unknown) => value is T;

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every(isString);
const isStatus = (value: unknown): value is JobStatus => isString(value) && isJobStatus(value);
const isLease = (value: unknown): value is WorkerLease =>
  typeof value === 'object' &&
  value !== null &&
  isString((value as JobItem).workerId) &&
  isNumber((value as JobItem).expiresAtMs);
