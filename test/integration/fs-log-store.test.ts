import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsLogStore } from '../../adapters/local-fs/fs-log-store';
import { ValidationError } from '../../core/src/errors';
import type { JobRecord } from '../../core/src/job-types';

/** A bound no test's stream reaches, for the reads that are not about the bound. */
const ANY_LENGTH = 1024 * 1024;

function jobWithId(id: number): JobRecord {
  return {
    id,
    owner: 'alice',
    groups: [],
    status: 'running',
    spec: { name: 'logs', resources: { nodes: 1 }, tasks: [] },
    createTime: 0,
    inQueue: true,
    attempt: 1,
  };
}

describe('FsLogStore', () => {
  let rootDir: string;
  let store: FsLogStore;
  let nextJobId = 1;

  before(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'flare-logs-'));
    store = new FsLogStore(rootDir);
  });

  after(async () => {
    await rm(rootDir, { recursive: true, force: true });
  });

  it('returns undefined and size 0 for a stream never written', async () => {
    // Prepare
    const jobId = nextJobId++;

    // Act
    const content = await store.read(jobWithId(jobId), 'stdout', 0, ANY_LENGTH);
    const size = await store.size(jobId, 'stdout');

    // Assess
    assert.equal(content, undefined);
    assert.equal(size, 0);
  });

  it('writes each stream to its own file under the job directory', async () => {
    // Prepare
    const jobId = nextJobId++;
    const stdout = await store.open(jobId, 'stdout');
    const stderr = await store.open(jobId, 'stderr');

    // Act
    await stdout.write(Buffer.from('out\n'));
    await stderr.write(Buffer.from('err\n'));
    await stdout.close();
    await stderr.close();

    // Assess
    assert.equal(await readFile(join(rootDir, String(jobId), 'stdout'), 'utf8'), 'out\n');
    assert.equal(await readFile(join(rootDir, String(jobId), 'stderr'), 'utf8'), 'err\n');
  });

  it('shows what was written so far while the sink is still open', async () => {
    // Prepare
    const jobId = nextJobId++;
    const sink = await store.open(jobId, 'stdout');
    await sink.write(Buffer.from('first line\n'));

    // Act
    const early = await store.read(jobWithId(jobId), 'stdout', 0, ANY_LENGTH);
    await sink.write(Buffer.from('second line\n'));
    const later = await store.read(jobWithId(jobId), 'stdout', 0, ANY_LENGTH);
    await sink.close();

    // Assess
    assert.equal(early?.toString(), 'first line\n');
    assert.equal(later?.toString(), 'first line\nsecond line\n');
  });

  it('reads from an offset, and nothing at or past the end', async () => {
    // Prepare
    const jobId = nextJobId++;
    const sink = await store.open(jobId, 'stderr');
    await sink.write(Buffer.from('0123456789'));
    await sink.close();

    // Act
    const tail = await store.read(jobWithId(jobId), 'stderr', 4, ANY_LENGTH);
    const atEnd = await store.read(jobWithId(jobId), 'stderr', 10, ANY_LENGTH);
    const pastEnd = await store.read(jobWithId(jobId), 'stderr', 50, ANY_LENGTH);

    // Assess
    assert.equal(tail?.toString(), '456789');
    assert.deepEqual(atEnd, Buffer.alloc(0));
    assert.deepEqual(pastEnd, Buffer.alloc(0));
  });

  it('reads at most maxBytes, so a large stream is read in pages by offset', async () => {
    // Prepare
    const jobId = nextJobId++;
    const sink = await store.open(jobId, 'stdout');
    await sink.write(Buffer.from('0123456789'));
    await sink.close();

    // Act
    const pages: string[] = [];
    for (let offset = 0; offset < 10; offset += 4) {
      pages.push(String(await store.read(jobWithId(jobId), 'stdout', offset, 4)));
    }

    // Assess
    assert.deepEqual(pages, ['0123', '4567', '89']);
  });

  it('refuses a read of no bytes or a negative offset', async () => {
    // Prepare
    const job = jobWithId(nextJobId++);

    // Act and assess
    await assert.rejects(store.read(job, 'stdout', 0, 0), ValidationError);
    await assert.rejects(store.read(job, 'stdout', -1, 10), ValidationError);
  });

  it('keeps chunks in the order write was called', async () => {
    // Prepare
    const jobId = nextJobId++;
    const sink = await store.open(jobId, 'stdout');
    const lines = Array.from({ length: 200 }, (_, index) => `line ${index}\n`);

    // Act
    await Promise.all(lines.map((line) => sink.write(Buffer.from(line))));
    await sink.close();

    // Assess
    const content = await store.read(jobWithId(jobId), 'stdout', 0, ANY_LENGTH);
    assert.equal(content?.toString(), lines.join(''));
  });

  it('appends when reopened, and cuts back to startAtBytes when given', async () => {
    // Prepare
    const jobId = nextJobId++;
    const first = await store.open(jobId, 'stdout');
    await first.write(Buffer.from('task 0\ntask 1 partial'));
    await first.close();
    const appended = await store.open(jobId, 'stdout');
    await appended.write(Buffer.from(' more'));
    await appended.close();

    // Act
    const replay = await store.open(jobId, 'stdout', 'task 0\n'.length);
    await replay.write(Buffer.from('task 1 again\n'));
    await replay.close();

    // Assess
    assert.equal(
      (await store.read(jobWithId(jobId), 'stdout', 0, ANY_LENGTH))?.toString(),
      'task 0\ntask 1 again\n',
    );
    assert.equal(await store.size(jobId, 'stdout'), 'task 0\ntask 1 again\n'.length);
  });

  it('never pads a stream that is shorter than startAtBytes', async () => {
    // Prepare
    const jobId = nextJobId++;
    const first = await store.open(jobId, 'stdout');
    await first.write(Buffer.from('abc'));
    await first.close();

    // Act
    const sink = await store.open(jobId, 'stdout', 10);
    await sink.write(Buffer.from('def'));
    await sink.close();

    // Assess
    assert.equal(
      (await store.read(jobWithId(jobId), 'stdout', 0, ANY_LENGTH))?.toString(),
      'abcdef',
    );
  });

  it('refuses writes after close', async () => {
    // Prepare
    const sink = await store.open(nextJobId++, 'stdout');
    await sink.close();

    // Act
    const write = sink.write(Buffer.from('late'));

    // Assess
    await assert.rejects(write, /closed/);
  });
});
