import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../core/src/errors';
import {
  type JobListQuery,
  matchesJobListQuery,
  parseJobId,
  parseJobListQuery,
  type QueryParams,
} from '../../core/src/jobs/list-query';
import { buildJobSpec } from '../helpers/job-builders';
import { buildJobRecord } from '../helpers/job-records';

interface ParseCase {
  readonly title: string;
  readonly params: QueryParams;
  readonly query: JobListQuery;
}

interface RejectCase {
  readonly title: string;
  readonly params: QueryParams;
  readonly fragment: string;
}

const ACTIVE: JobListQuery = { scope: 'active', detail: false, constraints: [] };
const FINISHED: JobListQuery = { ...ACTIVE, scope: 'finished' };
const ALL: JobListQuery = { ...ACTIVE, scope: 'all' };

/** Spec §5.4, one row per parameter or combination. */
const PARSED: readonly ParseCase[] = [
  { title: 'no parameters as active jobs only', params: {}, query: ACTIVE },
  {
    title: 'completed=true as the single most recently finished job',
    params: { completed: 'true' },
    query: { ...FINISHED, finishedLimit: 1 },
  },
  {
    title: 'completed=True as completed=true',
    params: { completed: 'True' },
    query: { ...FINISHED, finishedLimit: 1 },
  },
  {
    title: 'completed=true&num=5 as the five most recently finished jobs',
    params: { completed: 'true', num: '5' },
    query: { ...FINISHED, finishedLimit: 5 },
  },
  {
    title: 'completed=true&num=-1 as every finished job',
    params: { completed: 'true', num: '-1' },
    query: FINISHED,
  },
  {
    title: 'completed=false as active jobs only',
    params: { completed: 'false', num: '3' },
    query: ACTIVE,
  },
  { title: 'num without completed as active jobs only', params: { num: '3' }, query: ACTIVE },
  {
    title: 'a num without completed, even a bad one, as ignored',
    params: { num: 'abc' },
    query: ACTIVE,
  },
  {
    title: 'a repeated completed=true as finished jobs',
    params: { completed: 'true,true' },
    query: { ...ACTIVE, scope: 'finished', finishedLimit: 1 },
  },
  { title: 'all as every job without a limit', params: { all: '' }, query: ALL },
  {
    title: 'all with completed and num as every job without a limit',
    params: { all: 'true', completed: 'true', num: '2' },
    query: ALL,
  },
  {
    title: 'status=idle as pending active jobs',
    params: { status: 'idle' },
    query: { ...ACTIVE, status: 'pending' },
  },
  {
    title: 'status=pending as pending active jobs',
    params: { status: 'pending' },
    query: { ...ACTIVE, status: 'pending' },
  },
  {
    title: 'status=running as running active jobs',
    params: { status: 'running' },
    query: { ...ACTIVE, status: 'running' },
  },
  {
    title: 'status over completed and all',
    params: { status: 'running', completed: 'true', all: 'true', num: '4' },
    query: { ...ACTIVE, status: 'running' },
  },
  {
    title: 'status with ids as those ids among active jobs in that state',
    params: { status: 'idle', id: '3,4' },
    query: { ...ACTIVE, status: 'pending', ids: [3, 4] },
  },
  {
    title: 'one constraint',
    params: { constraint: 'project=alpha' },
    query: { ...ACTIVE, constraints: [{ key: 'project', value: 'alpha' }] },
  },
  {
    title: 'a repeated constraint, joined with commas, as constraints that must all hold',
    params: { constraint: 'project=alpha,stage=test' },
    query: {
      ...ACTIVE,
      constraints: [
        { key: 'project', value: 'alpha' },
        { key: 'stage', value: 'test' },
      ],
    },
  },
  { title: 'name', params: { name: 'sim-1' }, query: { ...ACTIVE, name: 'sim-1' } },
  {
    title: 'an id list as those jobs, active and finished',
    params: { id: '3,1,2' },
    query: { ...ALL, ids: [3, 1, 2] },
  },
  {
    title: 'an id list with spaces',
    params: { id: ' 4, 5 ' },
    query: { ...ALL, ids: [4, 5] },
  },
  {
    title: 'ids over completed',
    params: { id: '9', completed: 'true', num: '1' },
    query: { ...ALL, ids: [9] },
  },
  {
    title: 'detail=true as detail',
    params: { detail: 'true' },
    query: { ...ACTIVE, detail: true },
  },
  {
    title: 'a bare detail as detail, since only its presence counts',
    params: { detail: '' },
    query: { ...ACTIVE, detail: true },
  },
  {
    title: 'workflow=true as a workflow query on the first id',
    params: { workflow: 'true', id: '12,13' },
    query: { ...ALL, workflowId: 12 },
  },
  {
    title: 'workflow=false as a plain id list',
    params: { workflow: 'false', id: '12' },
    query: { ...ALL, ids: [12] },
  },
  {
    title: 'every filter at once',
    params: {
      completed: 'true',
      num: '2',
      constraint: 'a=1',
      name: 'n',
      detail: 'true',
    },
    query: {
      scope: 'finished',
      finishedLimit: 2,
      constraints: [{ key: 'a', value: '1' }],
      name: 'n',
      detail: true,
    },
  },
];

const REJECTED: readonly RejectCase[] = [
  {
    title: 'a num that is not a number',
    params: { completed: 'true', num: 'abc' },
    fragment: 'Invalid num abc',
  },
  { title: 'num=0', params: { completed: 'true', num: '0' }, fragment: 'Invalid num 0' },
  { title: 'num=-2', params: { completed: 'true', num: '-2' }, fragment: 'Invalid num -2' },
  {
    title: 'a fractional num',
    params: { completed: 'false', num: '1.5' },
    fragment: 'Invalid num 1.5',
  },
  { title: 'an empty num', params: { completed: 'true', num: '' }, fragment: 'Invalid num' },
  {
    title: 'status=completed',
    params: { status: 'completed' },
    fragment: 'invalid status specified',
  },
  { title: 'an empty status', params: { status: '' }, fragment: 'invalid status specified' },
  {
    title: 'a constraint without =',
    params: { constraint: 'a' },
    fragment: 'Invalid constraint a',
  },
  {
    title: 'a constraint with two =',
    params: { constraint: 'a=b=c' },
    fragment: 'Invalid constraint a=b=c',
  },
  {
    title: 'a constraint without key',
    params: { constraint: '=1' },
    fragment: 'Invalid constraint',
  },
  {
    title: 'a constraint without value',
    params: { constraint: 'a=' },
    fragment: 'Invalid constraint a=',
  },
  {
    title: 'a bad second constraint',
    params: { constraint: 'a=1,b' },
    fragment: 'Invalid constraint b',
  },
  { title: 'an id that is not a number', params: { id: 'x' }, fragment: 'Invalid job id x' },
  { title: 'id 0', params: { id: '0' }, fragment: 'Invalid job id 0' },
  { title: 'a negative id', params: { id: '-1' }, fragment: 'Invalid job id -1' },
  { title: 'a fractional id', params: { id: '1.5' }, fragment: 'Invalid job id 1.5' },
  { title: 'an empty id list', params: { id: '' }, fragment: 'Invalid job id' },
  { title: 'an empty id within a list', params: { id: '1,,2' }, fragment: 'Invalid job id' },
  {
    title: 'more than 100 ids',
    params: { id: Array.from({ length: 101 }, (_, index) => index + 1).join(',') },
    fragment: 'at most 100 job ids',
  },
  {
    title: 'workflow=true without an id',
    params: { workflow: 'true' },
    fragment: 'workflow=true needs the workflow id',
  },
];

describe('parseJobListQuery', () => {
  for (const { title, params, query } of PARSED) {
    it(`parses ${title}`, () => {
      // Act
      const parsed = parseJobListQuery(params);

      // Assess
      assert.deepEqual(parsed, query);
    });
  }

  for (const { title, params, fragment } of REJECTED) {
    it(`rejects ${title}`, () => {
      // Act and assess
      assert.throws(
        () => parseJobListQuery(params),
        (error: unknown) => error instanceof ValidationError && error.message.includes(fragment),
      );
    });
  }

  it('cuts a long bad value short in the message', () => {
    // Prepare
    const params = { constraint: 'k'.repeat(200) };

    // Act and assess
    assert.throws(
      () => parseJobListQuery(params),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.message.includes(`${'k'.repeat(40)}...`) &&
        !error.message.includes('k'.repeat(41)),
    );
  });
});

describe('parseJobId', () => {
  it('parses a decimal id', () => {
    // Act and assess
    assert.equal(parseJobId('4711'), 4711);
  });

  for (const raw of ['', '0', '-3', '+3', '3e2', '0x10', '1234567890123456', ' 7']) {
    it(`rejects ${JSON.stringify(raw)}`, () => {
      // Act and assess
      assert.throws(() => parseJobId(raw), ValidationError);
    });
  }
});

describe('matchesJobListQuery', () => {
  const job = buildJobRecord(7, {
    status: 'running',
    spec: buildJobSpec({ name: 'sim', labels: { project: 'alpha', stage: 'test' } }),
  });

  const cases: readonly (readonly [string, QueryParams, boolean])[] = [
    ['matches a job when no filter is set', {}, true],
    ['matches its status', { status: 'running' }, true],
    ['misses another status', { status: 'idle' }, false],
    ['matches its exact name', { name: 'sim' }, true],
    ['misses a name that is only a prefix', { name: 'si' }, false],
    ['matches its id among others', { id: '3,7' }, true],
    ['misses when its id is not listed', { id: '3,8' }, false],
    ['matches a label', { constraint: 'project=alpha' }, true],
    ['matches when every label holds', { constraint: 'project=alpha,stage=test' }, true],
    ['misses when one label differs', { constraint: 'project=alpha,stage=prod' }, false],
    ['misses a label the job lacks', { constraint: 'owner=bob' }, false],
    ['misses a label value of another case', { constraint: 'project=Alpha' }, false],
    ['matches every filter at once', { status: 'running', name: 'sim', id: '7' }, true],
  ];

  for (const [title, params, expected] of cases) {
    it(title, () => {
      // Prepare
      const query = parseJobListQuery(params);

      // Act
      const matches = matchesJobListQuery(job, query);

      // Assess
      assert.equal(matches, expected);
    });
  }

  it('misses every label constraint on a job without labels', () => {
    // Prepare
    const unlabelled = buildJobRecord(8);
    const query = parseJobListQuery({ constraint: 'project=alpha' });

    // Act
    const matches = matchesJobListQuery(unlabelled, query);

    // Assess
    assert.equal(matches, false);
  });
});
