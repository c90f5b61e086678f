import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DynamoDbJobStore } from '../../adapters/aws/dynamodb-job-store';
import { StaleJobStateError, ValidationError } from '../../core/src/errors';
import type { JobRecord, JobSpec } from '../../core/src/job-types';
import { type AwsEmulators, createTestJobTable, startAwsEmulators } from '../helpers/aws-emulators';

const SPEC: JobSpec = {
  name: 'round-trip',
  labels: { project: 'flare', empty: '' },
  resources: { nodes: 1, cpus: 2, memory: 4, disk: 10, walltime: 60 },
  tasks: [
    {
      image: 'busybox',
      runtime: 'singularity',
      cmd: 'echo "$GREETING"',
      env: { GREETING: 'hello', COUNT: 3, DEBUG: false },
    },
  ],
  policies: { maximumRetries: 2, placement: { requirements: { sites: ['local'] } } },
};

function buildJobRecord(id: number, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    owner: 'alice',
    groups: ['physics'],
    status: 'pending',
    spec: SPEC,
    createTime: 1_700_000_000,
    inQueue: true,
    attempt: 0,
    ...overrides,
  };
}

function finishedJob(id: number, endTime: number, owner = 'alice'): JobRecord {
  return buildJobRecord(id, { owner, status: 'completed', endTime, inQueue: false });
}

describe('DynamoDbJobStore', () => {
  let emulators: AwsEmulators;
  let store: DynamoDbJobStore;

  before(async () => {
    emulators = await startAwsEmulators();
  });

  after(async () => {
    await emulators.close();
  });

  beforeEach(async () => {
    store = new DynamoDbJobStore(emulators.documentClient, await createTestJobTable(emulators));
  });

  it('allocates distinct increasing ids under 50 concurrent calls', async () => {
    // Act
    const ids = await Promise.all(Array.from({ length: 50 }, () => store.allocateId()));
    const next = await store.allocateId();

    // Assess
    const sorted = [...ids].sort((a, b) => a - b);
    assert.deepEqual(
      sorted,
      Array.from({ length: 50 }, (_, index) => index + 1),
    );
    assert.equal(next, 51);
  });

  it('returns a created job exactly as it was given', async () => {
    // Prepare
    const job = buildJobRecord(7, {
      status: 'running',
      statusReason: '',
      startTime: 1_700_000_100,
      attempt: 1,
      execution: { site: 'local', tasks: [{ imagePullStatus: 'cached', imagePullTime: 0.5 }] },
      lease: { workerId: 'worker-1', expiresAtMs: 1_700_000_200_000 },
      runState: {
        taskIndex: 0,
        taskAttempt: 1,
        walltimeUsedMs: 0,
        stdoutStartBytes: 0,
        stderrStartBytes: 3,
      },
    });

    // Act
    await store.create(job);

    // Assess
    assert.deepEqual(await store.get(7), job);
  });

  it('refuses to create a job whose id is taken, and keeps the first', async () => {
    // Prepare
    const first = buildJobRecord(1);
    await store.create(first);

    // Act
    const second = store.create(buildJobRecord(1, { owner: 'mallory' }));

    // Assess
    await assert.rejects(second, StaleJobStateError);
    assert.deepEqual(await store.get(1), first);
  });

  it('returns undefined for a job that does not exist', async () => {
    // Act
    const job = await store.get(404);

    // Assess
    assert.equal(job, undefined);
  });

  it('gets many jobs across batches, skipping missing and repeated ids', async () => {
    // Prepare
    const created = Array.from({ length: 130 }, (_, index) => buildJobRecord(index + 1));
    await Promise.all(created.map((job) => store.create(job)));
    const ids = [...created.map((job) => job.id), 1, 2, 999];

    // Act
    const jobs = await store.getMany(ids);

    // Assess
    const sorted = [...jobs].sort((a, b) => a.id - b.id);
    assert.deepEqual(sorted, created);
  });

  it('lists active jobs by id and finished jobs most recently finished first', async () => {
    // Prepare
    await store.create(buildJobRecord(3));
    await store.create(buildJobRecord(1));
    await store.create(finishedJob(2, 1_700_000_500));
    await store.create(finishedJob(4, 1_700_000_900));
    await store.create(finishedJob(5, 1_700_000_700));
    await store.create(buildJobRecord(6, { owner: 'bob' }));

    // Act
    const active = await store.pageByOwner('alice', 'active', { pageSize: 10 });
    const finished = await store.pageByOwner('alice', 'finished', { pageSize: 10 });

    // Assess
    assert.deepEqual(
      active.jobs.map((job) => job.id),
      [1, 3],
    );
    assert.deepEqual(
      finished.jobs.map((job) => job.id),
      [4, 5, 2],
    );
    assert.equal(active.cursor, undefined);
    assert.equal(finished.cursor, undefined);
  });

  it('pages through a list with the cursor and ends without one', async () => {
    // Prepare
    for (let id = 1; id <= 5; id += 1) await store.create(buildJobRecord(id));

    // Act
    const pages: number[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.pageByOwner('alice', 'active', {
        pageSize: 2,
        ...(cursor === undefined ? {} : { cursor }),
      });
      pages.push(page.jobs.map((job) => job.id));
      cursor = page.cursor;
    } while (cursor !== undefined);

    // Assess
    assert.deepEqual(pages, [[1, 2], [3, 4], [5]]);
  });

  it('gives no cursor when the last page is exactly full', async () => {
    // Prepare
    for (let id = 1; id <= 4; id += 1) await store.create(finishedJob(id, 1_700_000_000 + id));
    const first = await store.pageByOwner('alice', 'finished', { pageSize: 2 });
    assert.ok(first.cursor);

    // Act
    const second = await store.pageByOwner('alice', 'finished', {
      pageSize: 2,
      cursor: first.cursor,
    });

    // Assess
    assert.deepEqual(
      second.jobs.map((job) => job.id),
      [2, 1],
    );
    assert.equal(second.cursor, undefined);
  });

  it('rejects a malformed cursor and one from another list', async () => {
    // Prepare
    for (let id = 1; id <= 3; id += 1) await store.create(buildJobRecord(id));
    const { cursor } = await store.pageByOwner('alice', 'active', { pageSize: 1 });
    assert.ok(cursor);

    const notJson = 'not a cursor';
    const notAKey = Buffer.from('[1]').toString('base64url');

    // Act
    const errors = await Promise.all(
      [
        store.pageByOwner('alice', 'active', { pageSize: 1, cursor: notJson }),
        store.pageByOwner('alice', 'active', { pageSize: 1, cursor: notAKey }),
        store.pageByOwner('bob', 'active', { pageSize: 1, cursor }),
        store.pageByOwner('alice', 'finished', { pageSize: 1, cursor }),
      ].map((page) => page.then(undefined, (error: unknown) => error)),
    );

    // Assess
    for (const error of errors) assert.ok(error instanceof ValidationError, String(error));
  });

  it('refuses an update that expects another status and changes nothing', async () => {
    // Prepare
    const job = buildJobRecord(1);
    await store.create(job);

    // Act
    const update = store.update(1, { status: 'running' }, { status: 'completed', endTime: 1 });

    // Assess
    await assert.rejects(update, StaleJobStateError);
    assert.deepEqual(await store.get(1), job);
  });

  it('refuses an update of a job that does not exist', async () => {
    // Act
    const update = store.update(404, { status: 'pending' }, { status: 'running' });

    // Assess
    await assert.rejects(update, (error: unknown) => {
      assert.ok(error instanceof StaleJobStateError);
      assert.ok(error.cause instanceof Error);
      return true;
    });
    assert.equal(await store.get(404), undefined);
  });

  it('applies an update only for the worker that holds the lease', async () => {
    // Prepare
    const lease = { workerId: 'worker-1', expiresAtMs: 1_000 };
    await store.create(buildJobRecord(1, { status: 'running', lease }));

    // Act
    const stranger = await store
      .update(1, { status: 'running', workerId: 'worker-2' }, { attempt: 9 })
      .catch((error: unknown) => error);
    const holder = await store.update(
      1,
      { status: 'running', workerId: 'worker-1' },
      { attempt: 2 },
    );

    // Assess
    assert.ok(stranger instanceof StaleJobStateError);
    assert.equal(holder.attempt, 2);
    assert.deepEqual(await store.get(1), holder);
  });

  it('removes the fields named in clear', async () => {
    // Prepare
    await store.create(
      buildJobRecord(1, {
        status: 'running',
        statusReason: 'Started',
        lease: { workerId: 'worker-1', expiresAtMs: 1_000 },
        runState: {
          taskIndex: 0,
          taskAttempt: 0,
          walltimeUsedMs: 0,
          stdoutStartBytes: 0,
          stderrStartBytes: 0,
        },
      }),
    );

    // Act
    const updated = await store.update(
      1,
      { status: 'running' },
      { status: 'pending', clear: ['statusReason', 'lease', 'runState'] },
    );

    // Assess
    assert.deepEqual(updated, buildJobRecord(1));
    assert.deepEqual(await store.get(1), buildJobRecord(1));
  });

  it('refuses a change that both sets and clears a field', async () => {
    // Prepare
    await store.create(buildJobRecord(1));

    // Act
    const update = store.update(
      1,
      { status: 'pending' },
      { statusReason: 'x', clear: ['statusReason'] },
    );

    // Assess
    await assert.rejects(update, ValidationError);
  });

  it('lists unfinished jobs by status as the status changes', async () => {
    // Prepare
    await store.create(buildJobRecord(1));
    await store.create(buildJobRecord(2));
    await store.create(buildJobRecord(3, { owner: 'bob' }));
    const ids = async (status: 'pending' | 'running') =>
      (await store.listUnfinished(status)).map((job) => job.id).sort((a, b) => a - b);

    // Act
    await store.update(1, { status: 'pending' }, { status: 'running', startTime: 10 });
    const running = await ids('running');
    const pending = await ids('pending');
    await store.update(1, { status: 'running' }, { status: 'completed', endTime: 20 });

    // Assess
    assert.deepEqual(running, [1]);
    assert.deepEqual(pending, [2, 3]);
    assert.deepEqual(await ids('running'), []);
    assert.deepEqual(await ids('pending'), [2, 3]);
  });

  it('moves a job to the finished list when it leaves the queue after it ended', async () => {
    // Prepare
    await store.create(buildJobRecord(1, { status: 'running' }));
    await store.create(finishedJob(2, 500));
    await store.update(1, { status: 'running' }, { status: 'completed', endTime: 900 });
    const stillActive = await store.pageByOwner('alice', 'active', { pageSize: 10 });

    // Act
    const updated = await store.update(1, { status: 'completed' }, { inQueue: false });

    // Assess
    assert.deepEqual(
      stillActive.jobs.map((job) => job.id),
      [1],
    );
    assert.equal(updated.inQueue, false);
    const active = await store.pageByOwner('alice', 'active', { pageSize: 10 });
    const finished = await store.pageByOwner('alice', 'finished', { pageSize: 10 });
    assert.deepEqual(active.jobs, []);
    assert.deepEqual(
      finished.jobs.map((job) => job.id),
      [1, 2],
    );
  });

  it('re-sorts a finished job when only its end time changes', async () => {
    // Prepare
    await store.create(finishedJob(1, 100));
    await store.create(finishedJob(2, 200));

    // Act
    await store.update(1, { status: 'completed' }, { endTime: 300 });

    // Assess
    const finished = await store.pageByOwner('alice', 'finished', { pageSize: 10 });
    assert.deepEqual(
      finished.jobs.map((job) => [job.id, job.endTime]),
      [
        [1, 300],
        [2, 200],
      ],
    );
  });

  it('checks the expectation and returns the job for an empty change', async () => {
    // Prepare
    const job = buildJobRecord(1);
    await store.create(job);

    // Act
    const unchanged = await store.update(1, { status: 'pending' }, {});
    const stale = await store.update(1, { status: 'running' }, {}).catch((error) => error);

    // Assess
    assert.deepEqual(unchanged, job);
    assert.ok(stale instanceof StaleJobStateError);
  });

  it('refuses to take a job out of the queue before it has an end time', async () => {
    // Prepare
    await store.create(buildJobRecord(1));

    // Act
    const update = store.update(1, { status: 'pending' }, { inQueue: false });

    // Assess
    await assert.rejects(update, ValidationError);
  });

  it('passes an aborted signal on to the SDK', async () => {
    // Act
    const read = store.get(1, AbortSignal.abort());

    // Assess
    await assert.rejects(read, { name: 'AbortError' });
  });
});
