import { setTimeout as delay } from 'node:timers/promises';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { FlareError, StaleJobStateError, ValidationError } from '../../core/src/errors';
import { assertTransition } from '../../core/src/job-states';
import type { JobChanges, JobExpectation, JobRecord } from '../../core/src/job-types';
import type { JobPage, JobPartition, JobStore } from '../../core/src/ports';
import {
  ACTIVE_PREFIX,
  BY_OWNER_INDEX,
  BY_UNFINISHED_INDEX,
  decodeListCursor,
  encodeChanges,
  encodeListCursor,
  FINISHED_PREFIX,
  fromJobItem,
  type JobItem,
  jobKey,
  listKeyFor,
  toJobItem,
  unfinishedStatusFor,
} from './job-table';

const COUNTER_KEY = 'COUNTER#job';
const BATCH_GET_MAX_KEYS = 100;
const UNPROCESSED_RETRY_LIMIT = 8;
const UNPROCESSED_RETRY_BASE_MS = 50;

/** The JobStore on one DynamoDB table; see job-table.ts for its keys and indexes. */
export class DynamoDbJobStore implements JobStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.#client = client;
    this.#tableName = tableName;
  }

  async allocateId(signal?: AbortSignal): Promise<number> {
    const output = await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: { pk: COUNTER_KEY },
        UpdateExpression: 'ADD #lastId :one',
        ExpressionAttributeNames: { '#lastId': 'lastId' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
      sendOptions(signal),
    );
    const id: unknown = output.Attributes?.lastId;
    if (typeof id !== 'number') throw new FlareError('The job id counter returned no number');
    return id;
  }

  async create(job: JobRecord, signal?: AbortSignal): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: toJobItem(job),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
        sendOptions(signal),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new StaleJobStateError(`Job ${job.id} already exists`, { cause: error });
      }
      throw error;
    }
  }

  async get(id: number, signal?: AbortSignal): Promise<JobRecord | undefined> {
    const output = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: { pk: jobKey(id) }, ConsistentRead: true }),
      sendOptions(signal),
    );
    return output.Item ? fromJobItem(output.Item) : undefined;
  }

  async getMany(ids: readonly number[], signal?: AbortSignal): Promise<JobRecord[]> {
    const unique = [...new Set(ids)];
    const jobs: JobRecord[] = [];
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
      const chunk = unique.slice(start, start + BATCH_GET_MAX_KEYS);
      jobs.push(...(await this.#batchGet(chunk, signal)));
    }
    return jobs;
  }

  async pageByOwner(
    owner: string,
    partition: JobPartition,
    options: { readonly cursor?: string; readonly pageSize: number; readonly signal?: AbortSignal },
  ): Promise<JobPage> {
    const { pageSize, signal } = options;
    if (!Number.isInteger(pageSize) || pageSize < 1) {
      throw new ValidationError(
        `The page size must be a whole number of at least 1, not ${pageSize}`,
      );
    }
    const prefix = partition === 'active' ? ACTIVE_PREFIX : FINISHED_PREFIX;

    // One item more than a page tells whether another page follows, so the last page never
    // carries a cursor that leads to an empty page.
    const items: JobItem[] = [];
    let startKey =
      options.cursor === undefined ? undefined : decodeListCursor(options.cursor, owner, prefix);
    do {
      const output = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          IndexName: BY_OWNER_INDEX.indexName,
          KeyConditionExpression: '#owner = :owner AND begins_with(#listKey, :prefix)',
          ExpressionAttributeNames: { '#owner': 'owner', '#listKey': 'listKey' },
          ExpressionAttributeValues: { ':owner': owner, ':prefix': prefix },
          ScanIndexForward: partition === 'active',
          Limit: pageSize + 1 - items.length,
          ExclusiveStartKey: startKey,
        }),
        sendOptions(signal),
      );
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined && items.length <= pageSize);

    const jobs = items.slice(0, pageSize).map(fromJobItem);
    const last = items[pageSize - 1];
    if (items.length <= pageSize || last === undefined) return { jobs };
    return { jobs, cursor: encodeListCursor(last) };
  }

  async listUnfinished(status: 'pending' | 'running', signal?: AbortSignal): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    let startKey: JobItem | undefined;
    do {
      const output = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          IndexName: BY_UNFINISHED_INDEX.indexName,
          KeyConditionExpression: '#unfinishedStatus = :status',
          ExpressionAttributeNames: { '#unfinishedStatus': 'unfinishedStatus' },
          ExpressionAttributeValues: { ':status': status },
          ExclusiveStartKey: startKey,
        }),
        sendOptions(signal),
      );
      jobs.push(...(output.Items ?? []).map(fromJobItem));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return jobs;
  }

  async update(
    id: number,
    expected: JobExpectation,
    changes: JobChanges,
    signal?: AbortSignal,
  ): Promise<JobRecord> {
    if (changes.status !== undefined && changes.status !== expected.status) {
      // The state machine is the last word on every status write, whoever asks for it.
      assertTransition(expected.status, changes.status);
    }
    const expression = new UpdateExpression();
    const listKey = await this.#planListKey(id, changes, expression, signal);
    expression.addChanges(changes, listKey);
    expression.addExpectation(expected);

    try {
      const output = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: jobKey(id) },
          ...expression.build(),
          ReturnValues: 'ALL_NEW',
        }),
        sendOptions(signal),
      );
      if (!output.Attributes) throw new FlareError(`The update of job ${id} returned no item`);
      return fromJobItem(output.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) {
        const worker = expected.workerId === undefined ? '' : ` leased to ${expected.workerId}`;
        const message = `Job ${id} is not ${expected.status}${worker} (or does not exist)`;
        throw new StaleJobStateError(message, { cause: error });
      }
      throw error;
    }
  }

  async #batchGet(ids: readonly number[], signal: AbortSignal | undefined): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    let keys: JobItem[] = ids.map((id) => ({ pk: jobKey(id) }));
    for (let attempt = 0; keys.length > 0; attempt += 1) {
      if (attempt > UNPROCESSED_RETRY_LIMIT) {
        throw new FlareError(`DynamoDB left ${keys.length} job reads unprocessed after retries`);
      }
      if (attempt > 0) {
        await delay(
          UNPROCESSED_RETRY_BASE_MS * 2 ** (attempt - 1),
          undefined,
          timerOptions(signal),
        );
      }
      const output = await this.#client.send(
        new BatchGetCommand({
          RequestItems: { [this.#tableName]: { Keys: keys, ConsistentRead: true } },
        }),
        sendOptions(signal),
      );
      jobs.push(...(output.Responses?.[this.#tableName] ?? []).map(fromJobItem));
      keys = output.UnprocessedKeys?.[this.#tableName]?.Keys ?? [];
    }
    return jobs;
  }

  /**
   * `listKey` depends on both `inQueue` and `endTime`. When a change carries only one of them
   * the other is read first, and the write then requires it to be unchanged, so the key can
   * never be computed from a value that another writer has since replaced.
   */
  async #planListKey(
    id: number,
    changes: JobChanges,
    expression: UpdateExpression,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const { inQueue, endTime } = changes;
    if (inQueue === true) return listKeyFor(id, true, endTime);
    if (inQueue === false && endTime !== undefined) return listKeyFor(id, false, endTime);
    if (inQueue === undefined && endTime === undefined) return undefined;

    const output = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { pk: jobKey(id) },
        ConsistentRead: true,
        ProjectionExpression: '#inQueue, #endTime',
        ExpressionAttributeNames: { '#inQueue': 'inQueue', '#endTime': 'endTime' },
      }),
      sendOptions(signal),
    );
    if (!output.Item) throw new StaleJobStateError(`Job ${id} does not exist`);
    const current: unknown = inQueue === false ? output.Item.endTime : output.Item.inQueue;

    if (inQueue === false) {
      if (typeof current !== 'number') {
        throw new ValidationError(`Job ${id} cannot leave the queue without an endTime`);
      }
      expression.require('endTime', current);
      return listKeyFor(id, false, current);
    }
    expression.require('inQueue', current === true);
    return current === true ? undefined : listKeyFor(id, false, endTime);
  }
}

/** Collects one UpdateItem's SET, REMOVE and condition clauses with their placeholders. */
class UpdateExpression {
  readonly #set: string[] = [];
  readonly #remove: string[] = [];
  readonly #conditions: string[] = [];
  readonly #names: Record<string, string> = {};
  readonly #values: Record<string, unknown> = {};

  addChanges(changes: JobChanges, listKey: string | undefined): void {
    for (const [field, value] of Object.entries(encodeChanges(changes))) {
      if (value !== undefined) this.#assign(field, value);
    }
    for (const field of new Set(changes.clear ?? [])) {
      if (changes[field] !== undefined) {
        throw new ValidationError(`A change cannot both set and clear ${field}`);
      }
      this.#remove.push(this.#name(field));
    }
    if (listKey !== undefined) this.#assign('listKey', listKey);
    if (changes.status !== undefined) {
      const unfinished = unfinishedStatusFor(changes.status);
      if (unfinished === undefined) this.#remove.push(this.#name('unfinishedStatus'));
      else this.#assign('unfinishedStatus', unfinished);
    }
  }

  addExpectation(expected: JobExpectation): void {
    this.require('status', expected.status);
    if (expected.workerId !== undefined) {
      const path = `${this.#name('lease')}.${this.#name('workerId')}`;
      this.#conditions.push(`${path} = ${this.#value('expected_workerId', expected.workerId)}`);
    }
    // An empty change still checks the expectation and returns the job, as a no-op write.
    if (this.#set.length === 0 && this.#remove.length === 0) {
      this.#set.push(`${this.#name('status')} = :expected_status`);
    }
  }

  /** Makes the write depend on `field` still holding `value`. */
  require(field: string, value: unknown): void {
    this.#conditions.push(`${this.#name(field)} = ${this.#value(`expected_${field}`, value)}`);
  }

  build() {
    const clauses = [
      this.#set.length > 0 ? `SET ${this.#set.join(', ')}` : '',
      this.#remove.length > 0 ? `REMOVE ${this.#remove.join(', ')}` : '',
    ];
    return {
      UpdateExpression: clauses.filter((clause) => clause !== '').join(' '),
      ConditionExpression: this.#conditions.join(' AND '),
      ExpressionAttributeNames: this.#names,
      ExpressionAttributeValues: this.#values,
    };
  }

  #assign(field: string, value: unknown): void {
    this.#set.push(`${this.#name(field)} = ${this.#value(field, value)}`);
  }

  #name(attribute: string): string {
    this.#names[`#${attribute}`] = attribute;
    return `#${attribute}`;
  }

  #value(key: string, value: unknown): string {
    this.#values[`:${key}`] = value;
    return `:${key}`;
  }
}

function isConditionFailure(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

function timerOptions(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
