import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  JobNotFoundError,
  JobStateError,
  NotAuthorisedError,
  ServiceUnavailableError,
  StaleJobStateError,
  ValidationError,
} from '../../core/src/errors';
import type { Identity, JobRecord } from '../../core/src/job-types';
import { JobService, LOG_READ_MAX_BYTES } from '../../core/src/jobs/job-service';
import {
  buildFinishedJobRecord,
  buildJobRecord,
  InMemoryJobQueue,
  InMemoryJobStore,
  InMemoryLogStore,
  ManualClock,
  silentLogger,
  TEST_EPOCH_MS,
} from '../helpers/fakes';
import { buildJobSpec, buildJobSpecInput, buildTaskInput } from '../helpers/job-builders';

const ALICE: Identity = { username: 'alice', groups: ['physics'] };
const BOB: Identity = { username: 'bob', groups: [] };

/** 1.5 s after the test epoch, so a create time that is not rounded down would show. */
const NOW_MS = TEST_EPOCH_MS + 61_500;
const NOW_SECONDS = 1_700_000_061;

async function setup(jobs: readonly JobRecord[] = []) {
  const store = new InMemoryJobStore();
  const queue = new InMemoryJobQueue();
  const logs = new InMemoryLogStore();
  const clock = new ManualClock(NOW_MS);
  const service = new JobService({ store, queue, logs, clock, logger: silentLogger() });
  for (const job of jobs) await store.create(job);
  return { store, queue, logs, clock, service };
}

type ErrorClass = new (message: string) => Error;

const leaveInQueue = buildJobSpec({ policies: { leaveInQueue: true } });

describe('JobService.submit', () => {
  it('stores a valid job as pending with its create time, and queues it', async () => {
    // Prepare
    const { store, queue, service } = await setup();

    // Act
    const id = await service.submit(ALICE, buildJobSpecInput());

    // Assess
    assert.equal(id, 1);
    assert.deepEqual(store.peek(1), {
      id: 1,
      owner: 'alice',
      groups: ['physics'],
      status: 'pending',
      spec: buildJobSpec(),
      createTime: NOW_SECONDS,
      inQueue: true,
      attempt: 0,
    });
    assert.deepEqual(queue.sent, [1]);
  });

  it('gives every job a new id', async () => {
    // Prepare
    const { queue, service } = await setup();

    // Act
    const first = await service.submit(ALICE, buildJobSpecInput());
    const second = await service.submit(BOB, buildJobSpecInput());

    // Assess
    assert.deepEqual([first, second], [1, 2]);
    assert.deepEqual(queue.sent, [1, 2]);
  });

  it('rejects an invalid description before it allocates, stores or queues anything', async () => {
    // Prepare
    const { store, queue, service } = await setup();

    // Act and assess
    await assert.rejects(service.submit(ALICE, buildJobSpecInput({ tasks: [] })), ValidationError);
    assert.equal(await store.allocateId(), 1, 'no id was used');
    assert.equal(store.peek(1), undefined);
    assert.deepEqual(queue.sent, []);
  });

  it('fails the job and reports the service unavailable when the queue refuses it', async () => {
    // Prepare
    const { store, queue, service } = await setup();
    const outage = new Error('queue unreachable');
    queue.failNextSend(outage);

    // Act and assess
    await assert.rejects(
      service.submit(ALICE, buildJobSpecInput()),
      (error: unknown) => error instanceof ServiceUnavailableError && error.cause === outage,
    );
    const job = store.peek(1);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.statusReason, 'Job submission failed');
    assert.equal(job?.endTime, NOW_SECONDS);
    assert.equal(job?.inQueue, false);
  });
});

describe('JobService.describe', () => {
  it("returns the caller's job as a one-element list of detail objects", async () => {
    // Prepare
    const { service } = await setup([buildJobRecord(3)]);

    // Act
    const found = await service.describe(ALICE, 3);

    // Assess
    assert.deepEqual(found, [
      {
        id: 3,
        status: 'pending',
        tasks: buildJobSpec().tasks,
        name: 'test-job',
        events: { createTime: TEST_EPOCH_MS / 1000 },
        resources: buildJobSpec().resources,
        execution: { runtimeVersion: {} },
      },
    ]);
  });

  it("returns an empty list for a missing job and for someone else's", async () => {
    // Prepare
    const { service } = await setup([buildJobRecord(3, { owner: 'bob' })]);

    // Act
    const missing = await service.describe(ALICE, 4);
    const others = await service.describe(ALICE, 3);

    // Assess
    assert.deepEqual(missing, []);
    assert.deepEqual(others, []);
  });

  it('shows an image pull token only as *** and keeps it stored', async () => {
    // Prepare
    const { store, service } = await setup();
    const credential = { username: 'robot', token: 's3cret' };
    const id = await service.submit(
      ALICE,
      buildJobSpecInput({ tasks: [buildTaskInput({ imagePullCredential: credential })] }),
    );

    // Act
    const [job] = await service.describe(ALICE, id);

    // Assess
    assert.deepEqual(job?.tasks[0]?.imagePullCredential, { username: 'robot', token: '***' });
    assert.deepEqual(store.peek(id)?.spec.tasks[0]?.imagePullCredential, credential);
  });
});

describe('JobService.list', () => {
  it("parses the parameters and lists the caller's jobs", async () => {
    // Prepare
    const { service } = await setup([
      buildFinishedJobRecord(1, 1_700_000_100),
      buildFinishedJobRecord(2, 1_700_000_200),
      buildFinishedJobRecord(3, 1_700_000_300, { owner: 'bob' }),
      buildJobRecord(4),
    ]);

    // Act
    const jobs = await service.list(ALICE, { completed: 'true', num: '5' });

    // Assess
    assert.deepEqual(
      jobs.map((job) => job.id),
      [1, 2],
    );
  });

  it('rejects an unknown status filter', async () => {
    // Prepare
    const { service } = await setup();

    // Act and assess
    await assert.rejects(service.list(ALICE, { status: 'completed' }), ValidationError);
  });
});

describe('JobService.delete', () => {
  it('deletes a pending job with the user reason and an end time', async () => {
    // Prepare
    const { store, service } = await setup([buildJobRecord(1)]);

    // Act
    await service.delete(ALICE, [1]);

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.statusReason, 'Job deleted by user');
    assert.equal(job?.endTime, NOW_SECONDS);
    assert.equal(job?.inQueue, false);
    assert.deepEqual(store.updates[0]?.expected, { status: 'pending' });
  });

  it('marks a running job deleted, leaving its worker to stop it', async () => {
    // Prepare
    const lease = { workerId: 'worker-1', expiresAtMs: NOW_MS + 60_000 };
    const { store, service } = await setup([
      buildJobRecord(1, { status: 'running', startTime: NOW_SECONDS - 30, attempt: 1, lease }),
    ]);

    // Act
    await service.delete(ALICE, [1]);

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'deleted');
    assert.equal(job?.statusReason, 'Job deleted by user');
    assert.equal(job?.startTime, NOW_SECONDS - 30);
    assert.equal(job?.endTime, NOW_SECONDS);
    assert.equal(job?.inQueue, false);
    assert.deepEqual(store.updates[0]?.expected, { status: 'running' });
  });

  it('keeps a deleted job in the active list when leaveInQueue is set', async () => {
    // Prepare
    const { store, service } = await setup([buildJobRecord(1, { spec: leaveInQueue })]);

    // Act
    await service.delete(ALICE, [1]);

    // Assess
    assert.equal(store.peek(1)?.status, 'deleted');
    assert.equal(store.peek(1)?.inQueue, true);
    assert.deepEqual(
      (await service.list(ALICE, {})).map((job) => job.id),
      [1],
    );
  });

  const notFound: readonly (readonly [string, JobRecord])[] = [
    ["someone else's job", buildJobRecord(1, { owner: 'bob' })],
    ['a finished job out of the queue', buildFinishedJobRecord(1, 1_700_000_100)],
    [
      'a deleted job out of the queue',
      buildFinishedJobRecord(1, 1_700_000_100, { status: 'deleted' }),
    ],
  ];
  for (const [title, job] of notFound) {
    it(`refuses to delete ${title} with "No such job(s)" and changes nothing`, async () => {
      // Prepare
      const { store, service } = await setup([job]);

      // Act and assess
      await assert.rejects(
        service.delete(ALICE, [1]),
        (error: unknown) => error instanceof JobNotFoundError && error.message === 'No such job(s)',
      );
      assert.deepEqual(store.peek(1), job);
    });
  }

  it('refuses to delete a job that does not exist with "No such job(s)"', async () => {
    // Prepare
    const { service } = await setup();

    // Act and assess
    await assert.rejects(service.delete(ALICE, [42]), /^JobNotFoundError: No such job\(s\)$/);
  });

  it('succeeds when at least one of the listed jobs matched', async () => {
    // Prepare
    const bobs = buildJobRecord(2, { owner: 'bob' });
    const finished = buildFinishedJobRecord(3, 1_700_000_100);
    const { store, service } = await setup([buildJobRecord(1), bobs, finished]);

    // Act
    await service.delete(ALICE, [1, 2, 3, 99]);

    // Assess
    assert.equal(store.peek(1)?.status, 'deleted');
    assert.deepEqual(store.peek(2), bobs);
    assert.deepEqual(store.peek(3), finished);
  });

  it('takes a finished job kept by leaveInQueue out of the active list', async () => {
    // Prepare
    const { store, service } = await setup([
      buildFinishedJobRecord(1, 1_700_000_100, { spec: leaveInQueue, inQueue: true }),
    ]);

    // Act
    await service.delete(ALICE, [1]);

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'completed');
    assert.equal(job?.endTime, 1_700_000_100);
    assert.equal(job?.inQueue, false);
  });

  it('tries again when the job changed between its read and its write', async () => {
    // Prepare
    const { store, service } = await setup([buildJobRecord(1)]);
    store.failNext('update', new StaleJobStateError('changed meanwhile'));

    // Act
    await service.delete(ALICE, [1]);

    // Assess
    assert.equal(store.peek(1)?.status, 'deleted');
  });

  it('deletes a job listed twice once, keeping it active under leaveInQueue', async () => {
    // Prepare
    const { store, service } = await setup([buildJobRecord(1, { spec: leaveInQueue })]);

    // Act
    await service.delete(ALICE, [1, 1]);

    // Assess
    assert.equal(store.peek(1)?.status, 'deleted');
    assert.equal(store.peek(1)?.inQueue, true);
  });
});

describe('JobService.remove', () => {
  it('takes a finished job kept by leaveInQueue out of the active list', async () => {
    // Prepare
    const { store, service } = await setup([
      buildFinishedJobRecord(1, 1_700_000_100, {
        spec: leaveInQueue,
        status: 'killed',
        inQueue: true,
      }),
    ]);

    // Act
    await service.remove(ALICE, 1);

    // Assess
    const job = store.peek(1);
    assert.equal(job?.status, 'killed');
    assert.equal(job?.endTime, 1_700_000_100);
    assert.equal(job?.inQueue, false);
    assert.deepEqual(
      (await service.list(ALICE, { completed: 'true' })).map((listed) => listed.id),
      [1],
    );
  });

  const refusals: readonly (readonly [string, JobRecord, ErrorClass, string])[] = [
    [
      'a job no longer in the queue',
      buildFinishedJobRecord(1, 1_700_000_100),
      JobStateError,
      'Job is no longer in the queue',
    ],
    [
      'a job still active',
      buildJobRecord(1, { spec: leaveInQueue, status: 'running' }),
      JobStateError,
      'Job is still active: delete it instead',
    ],
    [
      "someone else's job",
      buildFinishedJobRecord(1, 1_700_000_100, { owner: 'bob', inQueue: true }),
      NotAuthorisedError,
      'Not authorised to access this job',
    ],
  ];
  for (const [title, job, kind, message] of refusals) {
    it(`refuses to remove ${title}`, async () => {
      // Prepare
      const { store, service } = await setup([job]);

      // Act and assess
      await assert.rejects(
        service.remove(ALICE, 1),
        (error: unknown) => error instanceof kind && error.message === message,
      );
      assert.deepEqual(store.peek(1), job);
    });
  }

  it('refuses to remove a job that does not exist', async () => {
    // Prepare
    const { service } = await setup();

    // Act and assess
    await assert.rejects(service.remove(ALICE, 5), /^JobNotFoundError: Job does not exist$/);
  });
});

describe('JobService.readLog', () => {
  const fromStart = { offsetBytes: 0, node: 0 };

  it('refuses a job that does not exist', async () => {
    // Prepare
    const { service } = await setup();

    // Act and assess
    await assert.rejects(service.readLog(ALICE, 9, 'stdout', fromStart), JobNotFoundError);
  });

  it("refuses someone else's job as not authorised", async () => {
    // Prepare
    const { logs, service } = await setup([buildJobRecord(1, { owner: 'bob' })]);
    logs.seed(1, 'stdout', 'private');

    // Act and assess
    await assert.rejects(service.readLog(ALICE, 1, 'stdout', fromStart), NotAuthorisedError);
  });

  it('returns each stream from the byte offset to its end', async () => {
    // Prepare
    const { logs, service } = await setup([buildJobRecord(1, { status: 'running' })]);
    logs.seed(1, 'stdout', 'hello world');
    logs.seed(1, 'stderr', 'ünïcode');

    // Act
    const read = (stream: 'stdout' | 'stderr', offsetBytes: number) =>
      service.readLog(ALICE, 1, stream, { offsetBytes, node: 0 }).then(String);
    const results = await Promise.all([
      read('stdout', 0),
      read('stdout', 6),
      read('stdout', 11),
      read('stdout', 500),
      read('stderr', 2),
    ]);

    // Assess
    assert.deepEqual(results, ['hello world', 'world', '', '', 'nïcode']);
  });

  it('serves a log larger than one response in pages of 4 MiB by offset', async () => {
    // Prepare
    const { logs, service } = await setup([buildJobRecord(1, { status: 'completed' })]);
    const content = Buffer.alloc(2 * LOG_READ_MAX_BYTES + 1000);
    for (let index = 0; index < content.length; index += 1) content[index] = index % 251;
    logs.seed(1, 'stdout', content);

    // Act
    const pages: Buffer[] = [];
    let offsetBytes = 0;
    for (;;) {
      const page = await service.readLog(ALICE, 1, 'stdout', { offsetBytes, node: 0 });
      if (page.length === 0) break;
      pages.push(page);
      offsetBytes += page.length;
    }

    // Assess
    assert.equal(LOG_READ_MAX_BYTES, 4 * 1024 * 1024);
    assert.deepEqual(
      pages.map((page) => page.length),
      [LOG_READ_MAX_BYTES, LOG_READ_MAX_BYTES, 1000],
    );
    assert.ok(Buffer.concat(pages).equals(content));
  });

  it('refuses any node but 0', async () => {
    // Prepare
    const { logs, service } = await setup([buildJobRecord(1)]);
    logs.seed(1, 'stderr', 'text');

    // Act and assess
    await assert.rejects(
      service.readLog(ALICE, 1, 'stderr', { offsetBytes: 0, node: 1 }),
      (error: unknown) =>
        error instanceof JobNotFoundError && error.message === 'stderr does not exist for node 1',
    );
  });

  it('returns an empty body for a pending job that wrote nothing yet', async () => {
    // Prepare
    const { service } = await setup([buildJobRecord(1)]);

    // Act
    const content = await service.readLog(ALICE, 1, 'stdout', fromStart);

    // Assess
    assert.equal(content.length, 0);
  });
});
