import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobRecord } from '../../core/src/job-types';
import { listJobs } from '../../core/src/jobs/list-jobs';
import { parseJobListQuery, type QueryParams } from '../../core/src/jobs/list-query';
import type { JobStore } from '../../core/src/ports';
import {
  buildFinishedJobRecord,
  buildJobRecord,
  InMemoryJobStore,
  TEST_OWNER,
} from '../helpers/fakes';
import { buildJobSpec } from '../helpers/job-builders';

/** Small enough that a handful of jobs spans several pages. */
const PAGE_SIZE = 2;

async function storeWith(jobs: readonly JobRecord[]): Promise<InMemoryJobStore> {
  const store = new InMemoryJobStore({ maxPageSize: PAGE_SIZE });
  for (const job of jobs) await store.create(job);
  return store;
}

async function listIds(store: InMemoryJobStore, params: QueryParams): Promise<number[]> {
  const jobs = await listJobs(store, TEST_OWNER, parseJobListQuery(params));
  return jobs.map((job) => job.id);
}

function named(name: string, labels?: Record<string, string>) {
  return buildJobSpec({ name, ...(labels === undefined ? {} : { labels }) });
}

describe('listJobs', () => {
  it('lists active jobs by default, with finished jobs kept by leaveInQueue', async () => {
    // Prepare
    const store = await storeWith([
      buildJobRecord(1),
      buildJobRecord(2, { status: 'running', startTime: 1_700_000_010 }),
      buildFinishedJobRecord(3, 1_700_000_100),
      buildFinishedJobRecord(4, 1_700_000_200, { inQueue: true }),
      buildFinishedJobRecord(5, 1_700_000_300, { status: 'failed' }),
      buildFinishedJobRecord(6, 1_700_000_400, { status: 'deleted', inQueue: true }),
      buildJobRecord(7),
    ]);

    // Act
    const ids = await listIds(store, {});

    // Assess
    assert.deepEqual(ids, [1, 2, 4, 6, 7]);
    assert.deepEqual(
      store.pageReads.map((read) => read.partition),
      ['active', 'active', 'active'],
    );
  });

  it('returns only the most recently finished job for completed=true', async () => {
    // Prepare
    const store = await storeWith([
      buildFinishedJobRecord(1, 1_700_000_500),
      buildFinishedJobRecord(2, 1_700_000_900),
      buildFinishedJobRecord(3, 1_700_000_700),
      buildJobRecord(4),
    ]);

    // Act
    const ids = await listIds(store, { completed: 'true' });

    // Assess
    assert.deepEqual(ids, [2]);
    assert.deepEqual(
      store.pageReads.map((read) => read.partition),
      ['finished'],
    );
  });

  it('picks the N most recently finished jobs, not the highest ids, in id order', async () => {
    // Prepare
    const store = await storeWith([
      buildFinishedJobRecord(1, 1_700_001_000),
      buildFinishedJobRecord(2, 1_700_000_400),
      buildFinishedJobRecord(3, 1_700_000_900),
      buildFinishedJobRecord(4, 1_700_000_300),
      buildFinishedJobRecord(5, 1_700_000_800),
    ]);

    // Act
    const ids = await listIds(store, { completed: 'true', num: '3' });

    // Assess
    assert.deepEqual(ids, [1, 3, 5]);
    assert.equal(store.pageReads.length, 2, 'the third page is never needed');
  });

  it('returns every finished job for completed=true&num=-1', async () => {
    // Prepare
    const store = await storeWith([
      buildFinishedJobRecord(1, 1_700_000_300),
      buildFinishedJobRecord(2, 1_700_000_100),
      buildFinishedJobRecord(3, 1_700_000_200),
      buildJobRecord(4),
    ]);

    // Act
    const ids = await listIds(store, { completed: 'true', num: '-1' });

    // Assess
    assert.deepEqual(ids, [1, 2, 3]);
  });

  it('lists active and finished jobs together for all, in id order', async () => {
    // Prepare
    const store = await storeWith([
      buildFinishedJobRecord(1, 1_700_000_300),
      buildJobRecord(2),
      buildFinishedJobRecord(3, 1_700_000_100),
      buildJobRecord(4, { status: 'running' }),
      buildFinishedJobRecord(5, 1_700_000_200),
    ]);

    // Act
    const ids = await listIds(store, { all: 'true' });

    // Assess
    assert.deepEqual(ids, [1, 2, 3, 4, 5]);
  });

  it('finds a match that lies beyond the first page', async () => {
    // Prepare
    const store = await storeWith([
      buildJobRecord(1, { spec: named('other') }),
      buildJobRecord(2, { spec: named('other') }),
      buildJobRecord(3, { spec: named('other') }),
      buildJobRecord(4, { spec: named('other') }),
      buildJobRecord(5, { spec: named('target') }),
    ]);

    // Act
    const ids = await listIds(store, { name: 'target' });

    // Assess
    assert.deepEqual(ids, [5]);
    assert.equal(store.pageReads.length, 3);
  });

  it('stops reading finished jobs once the limit of matches is reached', async () => {
    // Prepare: by end time, newest first: 10 (match), 9, 8 (match), 7, 6 (match), 5.
    const labelled = named('sim', { project: 'alpha' });
    const store = await storeWith([
      buildFinishedJobRecord(5, 1_700_000_005, { spec: labelled }),
      buildFinishedJobRecord(6, 1_700_000_006, { spec: labelled }),
      buildFinishedJobRecord(7, 1_700_000_007),
      buildFinishedJobRecord(8, 1_700_000_008, { spec: labelled }),
      buildFinishedJobRecord(9, 1_700_000_009),
      buildFinishedJobRecord(10, 1_700_000_010, { spec: labelled }),
    ]);

    // Act
    const ids = await listIds(store, { completed: 'true', num: '2', constraint: 'project=alpha' });

    // Assess
    assert.deepEqual(ids, [8, 10]);
    assert.equal(store.pageReads.length, 2, 'the page holding job 6 is never read');
  });

  it('reads only the active partition for a status filter', async () => {
    // Prepare
    const store = await storeWith([
      buildJobRecord(1),
      buildJobRecord(2, { status: 'running' }),
      buildJobRecord(3),
      buildFinishedJobRecord(4, 1_700_000_100),
    ]);

    // Act
    const idle = await listIds(store, { status: 'idle', all: 'true' });
    const running = await listIds(store, { status: 'running', completed: 'true' });

    // Assess
    assert.deepEqual(idle, [1, 3]);
    assert.deepEqual(running, [2]);
    assert.ok(store.pageReads.every((read) => read.partition === 'active'));
  });

  it('finds listed ids in both partitions and skips missing ones', async () => {
    // Prepare
    const store = await storeWith([
      buildJobRecord(1),
      buildJobRecord(2),
      buildFinishedJobRecord(5, 1_700_000_100),
      buildFinishedJobRecord(6, 1_700_000_200),
    ]);

    // Act
    const ids = await listIds(store, { id: '6,1,99' });

    // Assess
    assert.deepEqual(ids, [1, 6]);
    assert.equal(store.pageReads.length, 0, 'ids are read directly, not by paging');
  });

  it('applies the other filters to an id list', async () => {
    // Prepare
    const store = await storeWith([
      buildJobRecord(1, { spec: named('keep') }),
      buildJobRecord(2, { spec: named('drop') }),
      buildFinishedJobRecord(3, 1_700_000_100, { spec: named('keep') }),
      buildJobRecord(4, { status: 'running', spec: named('keep') }),
    ]);

    // Act
    const byName = await listIds(store, { id: '1,2,3', name: 'keep' });
    const byStatus = await listIds(store, { id: '1,3,4', status: 'running' });

    // Assess
    assert.deepEqual(byName, [1, 3]);
    assert.deepEqual(byStatus, [4]);
  });

  it("never shows another owner's jobs", async () => {
    // Prepare
    const store = await storeWith([
      buildJobRecord(1),
      buildJobRecord(2, { owner: 'bob' }),
      buildFinishedJobRecord(3, 1_700_000_300, { owner: 'bob' }),
      buildFinishedJobRecord(4, 1_700_000_100),
      buildJobRecord(5, { owner: 'bob', status: 'running' }),
    ]);

    // Act
    const active = await listIds(store, {});
    const finished = await listIds(store, { completed: 'true', num: '-1' });
    const all = await listIds(store, { all: 'true' });
    const byId = await listIds(store, { id: '1,2,3,4,5' });

    // Assess
    assert.deepEqual(active, [1]);
    assert.deepEqual(finished, [4]);
    assert.deepEqual(all, [1, 4]);
    assert.deepEqual(byId, [1, 4]);
  });

  it('returns nothing for workflow=true, since Flare has no workflows yet', async () => {
    // Prepare
    const store = await storeWith([buildJobRecord(1)]);

    // Act
    const ids = await listIds(store, { workflow: 'true', id: '1', all: 'true' });

    // Assess
    assert.deepEqual(ids, []);
  });

  it('returns summaries with the list fields only', async () => {
    // Prepare
    const spec = buildJobSpec({ labels: { project: 'alpha' }, policies: { maximumRetries: 2 } });
    const store = await storeWith([
      buildFinishedJobRecord(1, 1_700_000_100, {
        spec,
        status: 'failed',
        statusReason: 'Container image pull failed',
        execution: { site: 'local:fake', tasks: [{ imagePullStatus: 'failed' }] },
      }),
    ]);

    // Act
    const [summary] = await listJobs(store, TEST_OWNER, parseJobListQuery({ all: '' }));

    // Assess
    assert.deepEqual(summary, {
      id: 1,
      status: 'failed',
      tasks: spec.tasks,
      name: 'test-job',
      statusReason: 'Container image pull failed',
      events: { createTime: 1_700_000_000, startTime: 1_700_000_090, endTime: 1_700_000_100 },
    });
  });

  it('returns detail objects with resources, labels, policies and execution', async () => {
    // Prepare
    const spec = buildJobSpec({ labels: { project: 'alpha' }, policies: { maximumRetries: 2 } });
    const execution = {
      site: 'local:fake',
      provisionedResources: { cpus: 1, memory: 1, disk: 10, nodes: 1 },
      retries: 1,
      tasks: [{ imagePullStatus: 'cached' as const, exitCode: 0, wallTimeUsage: 2, retries: 0 }],
    };
    const store = await storeWith([
      buildFinishedJobRecord(1, 1_700_000_100, { spec, attempt: 2, execution }),
      buildJobRecord(2),
    ]);

    // Act
    const details = await listJobs(store, TEST_OWNER, parseJobListQuery({ all: '', detail: '' }));

    // Assess
    assert.deepEqual(details, [
      {
        id: 1,
        status: 'completed',
        tasks: spec.tasks,
        name: 'test-job',
        events: { createTime: 1_700_000_000, startTime: 1_700_000_090, endTime: 1_700_000_100 },
        resources: spec.resources,
        labels: { project: 'alpha' },
        policies: { maximumRetries: 2 },
        execution: { runtimeVersion: {}, ...execution },
      },
      {
        id: 2,
        status: 'pending',
        tasks: buildJobSpec().tasks,
        name: 'test-job',
        events: { createTime: 1_700_000_000 },
        resources: buildJobSpec().resources,
        execution: { runtimeVersion: {} },
      },
    ]);
  });
});

describe('listJobs while jobs change', () => {
  it('lists a job that finished between the two reads of `all` once, as finished', async () => {
    // Prepare: the active read still sees job 7 running, the finished read sees it done.
    const running = buildJobRecord(7, { status: 'running', startTime: 1_700_000_010 });
    const finished = buildFinishedJobRecord(7, 1_700_000_100);
    const store = {
      pageByOwner: async (_owner: string, partition: 'active' | 'finished') => ({
        jobs: partition === 'active' ? [running] : [finished],
      }),
    } as unknown as JobStore;

    // Act
    const jobs = await listJobs(store, TEST_OWNER, parseJobListQuery({ all: '' }));

    // Assess
    assert.deepEqual(
      jobs.map((job) => [job.id, job.status]),
      [[7, 'completed']],
    );
  });
});
