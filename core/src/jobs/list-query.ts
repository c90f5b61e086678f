import { ValidationError } from '../errors';
import type { JobStatus } from '../job-states';
import type { JobRecord } from '../job-types';

export type QueryParams = Readonly<Record<string, string | undefined>>;

export interface LabelConstraint {
  readonly key: string;
  readonly value: string;
}

/** What `GET /jobs` asks for, after the reference service's parameter rules. */
export interface JobListQuery {
  /** Which partitions to read: active jobs, finished jobs, or both. */
  readonly scope: 'active' | 'finished' | 'all';
  /** How many finished jobs to keep (most recently finished first); undefined is unlimited. */
  readonly finishedLimit?: number;
  readonly status?: JobStatus;
  readonly name?: string;
  readonly constraints: readonly LabelConstraint[];
  readonly ids?: readonly number[];
  readonly detail: boolean;
  /** Jobs of a workflow were asked for (`workflow=true`); Flare has no workflows yet. */
  readonly workflowId?: number;
}

const STATUS_FILTERS: Readonly<Record<string, JobStatus>> = {
  idle: 'pending',
  pending: 'pending',
  running: 'running',
};

/**
 * Turns list parameters into a query. API Gateway joins a repeated parameter with commas, so
 * `constraint=a=1&constraint=b=2` arrives as `a=1,b=2`; label values cannot hold commas, so
 * splitting is safe, and every constraint must hold.
 */
export function parseJobListQuery(params: QueryParams): JobListQuery {
  const detail = params.detail !== undefined;
  const constraints = parseConstraints(params.constraint);
  const name = params.name;
  const ids = params.id === undefined ? undefined : parseJobIds(params.id);
  // A repeated parameter arrives comma-joined; `completed=true&completed=true` is still true.
  const completed = params.completed?.toLowerCase().split(',');
  // `num` means something only with `completed` (spec §5.4), and is checked only then.
  const num = params.num === undefined || completed === undefined ? 1 : parseNum(params.num);
  const base = {
    detail,
    constraints,
    ...(name === undefined ? {} : { name }),
  };

  if (params.workflow !== undefined && params.workflow.toLowerCase() === 'true') {
    const workflowId = ids?.[0];
    if (workflowId === undefined) {
      throw new ValidationError('workflow=true needs the workflow id in id');
    }
    return { ...base, scope: 'all', workflowId };
  }
  if (params.status !== undefined) {
    const status = STATUS_FILTERS[params.status];
    if (status === undefined) {
      throw new ValidationError('invalid status specified: use idle, pending or running');
    }
    return { ...base, scope: 'active', status, ...(ids === undefined ? {} : { ids }) };
  }
  if (ids !== undefined) {
    return { ...base, scope: 'all', ids };
  }
  if (params.all !== undefined) {
    return { ...base, scope: 'all' };
  }
  if (completed?.includes('true')) {
    return { ...base, scope: 'finished', ...(num === -1 ? {} : { finishedLimit: num }) };
  }
  return { ...base, scope: 'active' };
}

/** Whether a job passes the query's filters (partition and limit aside). */
export function matchesJobListQuery(job: JobRecord, query: JobListQuery): boolean {
  if (query.status !== undefined && job.status !== query.status) {
    return false;
  }
  if (query.name !== undefined && job.spec.name !== query.name) {
    return false;
  }
  if (query.ids !== undefined && !query.ids.includes(job.id)) {
    return false;
  }
  return query.constraints.every(({ key, value }) => job.spec.labels?.[key] === value);
}

const MAX_IDS = 100;

function parseConstraints(raw: string | undefined): LabelConstraint[] {
  if (raw === undefined) {
    return [];
  }
  return raw.split(',').map((item) => {
    const parts = item.split('=');
    const [key, value] = parts;
    if (parts.length !== 2 || !key || !value) {
      throw new ValidationError(`Invalid constraint ${truncate(item)}: use key=value`);
    }
    return { key, value };
  });
}

/**
 * A comma-separated list of job ids (`id=1,2,3`), at most 100: one request must not hold the
 * service for everyone else.
 */
export function parseJobIds(raw: string): number[] {
  const ids = raw.split(',').map((item) => item.trim());
  if (ids.length > MAX_IDS) {
    throw new ValidationError(`at most ${MAX_IDS} job ids may be given`);
  }
  return ids.map((item) => parseJobId(item));
}

/** A job id from a path or query: a positive integer in decimal. */
export function parseJobId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw) || Number(raw) < 1) {
    throw new ValidationError(`Invalid job id ${truncate(raw)}: job ids are positive integers`);
  }
  return Number(raw);
}

function parseNum(raw: string): number {
  if (!/^-?[0-9]{1,9}$/.test(raw) || (Number(raw) < 1 && Number(raw) !== -1)) {
    throw new ValidationError(
      `Invalid num ${truncate(raw)}: use a positive integer, or -1 for all`,
    );
  }
  return Number(raw);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
