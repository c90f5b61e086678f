import { StaleJobStateError, ValidationError } from '../../core/src/errors';
import { assertTransition } from '../../core/src/job-states';
import type { JobChanges, JobExpectation, JobRecord } from '../../core/src/job-types';
import type { JobPage, JobPartition, JobStore } from '../../core/src/ports';

export interface InMemoryJobStoreOptions {
  /**
   * The most jobs one page holds, whatever the caller asks for, so that a test with a handful
   * of jobs still pages. The contract lets a store return fewer than `pageSize`. Default: no cap.
   */
  readonly maxPageSize?: number;
  /**
   * Whether `update` refuses a status change that the state machine does not allow, with
   * InvalidTransitionError. Real stores do not check this; the fake does so that a test fails
   * when domain code writes a move the table forbids. Default true.
   */
  readonly checkTransitions?: boolean;
}

/** One call of pageByOwner, kept so that tests can count the pages a list read. */
export interface PageRead {
  readonly owner: string;
  readonly partition: JobPartition;
  readonly cursor?: string;
  readonly returned: number;
}

/** One call of update, kept so that tests can check which state a write expected. */
export interface UpdateCall {
  readonly id: number;
  readonly expected: JobExpectation;
  readonly changes: JobChanges;
}

type StoreMethod =
  | 'allocateId'
  | 'create'
  | 'get'
  | 'getMany'
  | 'pageByOwner'
  | 'listUnfinished'
  | 'update';

/** Where a job sits in its partition's order; also what a cursor remembers. */
interface ListPosition {
  readonly id: number;
  readonly endTime: number;
}

/**
 * A JobStore in a Map, with the same contract as the DynamoDB store: conditional updates,
 * active jobs by ascending id, finished jobs most recently finished first (then by id,
 * descending), and no cursor on the last page. Jobs go in and out as copies, so a test can
 * never change a stored job by holding on to an object.
 */
export class InMemoryJobStore implements JobStore {
  readonly pageReads: PageRead[] = [];
  readonly updates: UpdateCall[] = [];
  readonly #jobs = new Map<number, JobRecord>();
  readonly #options: InMemoryJobStoreOptions;
  readonly #failures = new Map<StoreMethod, Error>();
  #lastId = 0;

  constructor(options: InMemoryJobStoreOptions = {}) {
    this.#options = options;
  }

  /** Makes the next call of `method` throw `error`, as a store outage would. */
  failNext(method: StoreMethod, error: Error): void {
    this.#failures.set(method, error);
  }

  /** The stored job, read without a call being recorded or a failure consumed. */
  peek(id: number): JobRecord | undefined {
    const job = this.#jobs.get(id);
    return job === undefined ? undefined : structuredClone(job);
  }

  async allocateId(signal?: AbortSignal): Promise<number> {
    this.#enter('allocateId', signal);
    this.#lastId += 1;
    return this.#lastId;
  }

  async create(job: JobRecord, signal?: AbortSignal): Promise<void> {
    this.#enter('create', signal);
    if (this.#jobs.has(job.id)) {
      throw new StaleJobStateError(`Job ${job.id} already exists`);
    }
    requireEndTimeOutOfQueue(job);
    this.#jobs.set(job.id, structuredClone(job));
    // Tests create jobs with chosen ids; the sequence moves past them so ids stay unique.
    this.#lastId = Math.max(this.#lastId, job.id);
  }

  async get(id: number, signal?: AbortSignal): Promise<JobRecord | undefined> {
    this.#enter('get', signal);
    return this.peek(id);
  }

  async getMany(ids: readonly number[], signal?: AbortSignal): Promise<JobRecord[]> {
    this.#enter('getMany', signal);
    return [...new Set(ids)].flatMap((id) => this.peek(id) ?? []);
  }

  async pageByOwner(
    owner: string,
    partition: JobPartition,
    options: { readonly cursor?: string; readonly pageSize: number; readonly signal?: AbortSignal },
  ): Promise<JobPage> {
    this.#enter('pageByOwner', options.signal);
    if (!Number.isInteger(options.pageSize) || options.pageSize < 1) {
      throw new ValidationError(
        `The page size must be a whole number of at least 1, not ${options.pageSize}`,
      );
    }
    const pageSize = Math.min(options.pageSize, this.#options.maxPageSize ?? options.pageSize);
    const after =
      options.cursor === undefined ? undefined : decodeCursor(options.cursor, owner, partition);
    const order = partition === 'active' ? activeOrder : finishedOrder;

    const listed = [...this.#jobs.values()]
      .filter((job) => job.owner === owner && job.inQueue === (partition === 'active'))
      .sort((a, b) => order(positionOf(a), positionOf(b)))
      .filter((job) => after === undefined || order(positionOf(job), after) > 0);
    const jobs = listed.slice(0, pageSize).map((job) => structuredClone(job));
    const last = jobs.at(-1);
    const cursor =
      listed.length > pageSize && last !== undefined
        ? encodeCursor(owner, partition, positionOf(last))
        : undefined;

    this.pageReads.push({
      owner,
      partition,
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      returned: jobs.length,
    });
    return cursor === undefined ? { jobs } : { jobs, cursor };
  }

  async listUnfinished(status: 'pending' | 'running', signal?: AbortSignal): Promise<JobRecord[]> {
    this.#enter('listUnfinished', signal);
    return [...this.#jobs.values()]
      .filter((job) => job.status === status)
      .sort((a, b) => a.id - b.id)
      .map((job) => structuredClone(job));
  }

  async update(
    id: number,
    expected: JobExpectation,
    changes: JobChanges,
    signal?: AbortSignal,
  ): Promise<JobRecord> {
    this.#enter('update', signal);
    this.updates.push(structuredClone({ id, expected, changes }));
    const job = this.#jobs.get(id);
    const leaseMatches =
      expected.workerId === undefined || job?.lease?.workerId === expected.workerId;
    if (job === undefined || job.status !== expected.status || !leaseMatches) {
      const worker = expected.workerId === undefined ? '' : ` leased to ${expected.workerId}`;
      throw new StaleJobStateError(
        `Job ${id} is not ${expected.status}${worker} (or does not exist)`,
      );
    }
    const next = applyChanges(job, changes);
    if (next.status !== job.status && this.#options.checkTransitions !== false) {
      assertTransition(job.status, next.status);
    }
    requireEndTimeOutOfQueue(next);
    this.#jobs.set(id, next);
    return structuredClone(next);
  }

  #enter(method: StoreMethod, signal: AbortSignal | undefined): void {
    signal?.throwIfAborted();
    const failure = this.#failures.get(method);
    if (failure !== undefined) {
      this.#failures.delete(method);
      throw failure;
    }
  }
}

function applyChanges(job: JobRecord, changes: JobChanges): JobRecord {
  const { clear = [], ...sets } = changes;
  const next: Record<string, unknown> = { ...structuredClone(job) };
  for (const [field, value] of Object.entries(structuredClone(sets))) {
    if (value !== undefined) next[field] = value;
  }
  for (const field of new Set(clear)) {
    if (changes[field] !== undefined) {
      throw new ValidationError(`A change cannot both set and clear ${field}`);
    }
    delete next[field];
  }
  return next as unknown as JobRecord;
}

/** The finished list is ordered by end time, so a job cannot leave the queue without one. */
function requireEndTimeOutOfQueue(job: JobRecord): void {
  if (!job.inQueue && job.endTime === undefined) {
    throw new ValidationError(`Job ${job.id} cannot leave the queue without an endTime`);
  }
}

function positionOf(job: JobRecord): ListPosition {
  return { id: job.id, endTime: job.endTime ?? 0 };
}

function activeOrder(a: ListPosition, b: ListPosition): number {
  return a.id - b.id;
}

function finishedOrder(a: ListPosition, b: ListPosition): number {
  return b.endTime - a.endTime || b.id - a.id;
}

/**
 * A cursor names the position of the last job it returned rather than an index, so a job that
 * moves between partitions while a list is read shifts no other job off a page.
 */
function encodeCursor(owner: string, partition: JobPartition, position: ListPosition): string {
  return Buffer.from(JSON.stringify({ owner, partition, ...position })).toString('base64url');
}

function decodeCursor(cursor: string, owner: string, partition: JobPartition): ListPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new ValidationError('The cursor is not one this service gave out', { cause });
  }
  const key = (decoded ?? {}) as Record<string, unknown>;
  if (
    key.owner !== owner ||
    key.partition !== partition ||
    typeof key.id !== 'number' ||
    typeof key.endTime !== 'number'
  ) {
    throw new ValidationError('The cursor is not one this service gave out');
  }
  return { id: key.id, endTime: key.endTime };
}
