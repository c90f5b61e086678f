import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsLogStore } from '../../adapters/aws/aws-log-store';
import { ValidationError } from '../../core/src/errors';
import { buildJobRecord, silentLogger } from '../helpers/fakes';
import { createTestBucket, type S3Emulator, startS3Emulator } from '../helpers/s3-emulator';

const ANY_LENGTH = 1024 * 1024;
const SPILL_THRESHOLD_BYTES = 1024;

describe('AwsLogStore against S3', () => {
  let emulator: S3Emulator;
  let bucket: string;
  let tempDir: string;
  let store: AwsLogStore;
  const cloudWatch = new CloudWatchLogsClient({ region: 'us-east-1' });
  const cloudWatchMock = mockClient(cloudWatch);
  let nextJobId = 1;

  before(async () => {
    emulator = await startS3Emulator();
    bucket = await createTestBucket(emulator);
    tempDir = await mkdtemp(join(tmpdir(), 'flare-aws-logs-'));
    store = new AwsLogStore({
      s3: emulator.s3,
      logs: cloudWatch,
      bucket,
      logGroupName: '/flare/jobs',
      spillThresholdBytes: SPILL_THRESHOLD_BYTES,
      tempDir,
      logger: silentLogger(),
    });
  });

  after(async () => {
    cloudWatchMock.restore();
    await emulator.close();
    await rm(tempDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    cloudWatchMock.reset();
  });

  async function storedObject(key: string): Promise<string> {
    const output = await emulator.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await output.Body?.transformToString('utf8')) ?? '';
  }

  async function writeStream(jobId: number, content: string | Buffer, startAtBytes?: number) {
    const sink = await store.open(jobId, 'stdout', startAtBytes);
    await sink.write(Buffer.from(content));
    await sink.close();
  }

  const finished = (id: number) => buildJobRecord(id, { status: 'completed' });

  it('reports size 0 and reads undefined for a stream never written', async () => {
    // Prepare
    const jobId = nextJobId++;

    // Act
    const size = await store.size(jobId, 'stdout');
    const content = await store.read(finished(jobId), 'stdout', 0, ANY_LENGTH);

    // Assess
    assert.equal(size, 0);
    assert.equal(content, undefined);
  });

  it('stores each stream as its own object under logs/<jobId>/ on close', async () => {
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
    assert.equal(await storedObject(`logs/${jobId}/stdout`), 'out\n');
    assert.equal(await storedObject(`logs/${jobId}/stderr`), 'err\n');
    const head = await emulator.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `logs/${jobId}/stdout` }),
    );
    assert.equal(head.ContentType, 'text/plain; charset=utf-8');
    assert.equal(await store.size(jobId, 'stdout'), 4);
  });

  it('stores nothing before close, so an open stream keeps its previous content', async () => {
    // Prepare
    const jobId = nextJobId++;
    await writeStream(jobId, 'task 0\n');
    const sink = await store.open(jobId, 'stdout');

    // Act
    await sink.write(Buffer.from('task 1\n'));
    const during = await store.read(finished(jobId), 'stdout', 0, ANY_LENGTH);
    await sink.close();
    const afterClose = await store.read(finished(jobId), 'stdout', 0, ANY_LENGTH);

    // Assess
    assert.equal(String(during), 'task 0\n');
    assert.equal(String(afterClose), 'task 0\ntask 1\n');
  });

  it('appends when reopened, and cuts back to startAtBytes when given', async () => {
    // Prepare
    const jobId = nextJobId++;
    await writeStream(jobId, 'task 0\ntask 1 partial');
    await writeStream(jobId, ' more');

    // Act
    await writeStream(jobId, 'task 1 again\n', 'task 0\n'.length);

    // Assess
    assert.equal(await storedObject(`logs/${jobId}/stdout`), 'task 0\ntask 1 again\n');
    assert.equal(await store.size(jobId, 'stdout'), 'task 0\ntask 1 again\n'.length);
  });

  it('replaces the content when reopened at 0, and never pads past the end', async () => {
    // Prepare
    const replaced = nextJobId++;
    const padded = nextJobId++;
    await writeStream(replaced, 'old output\n');
    await writeStream(padded, 'abc');

    // Act
    await writeStream(replaced, 'new\n', 0);
    await writeStream(padded, 'def', 10);

    // Assess
    assert.equal(await storedObject(`logs/${replaced}/stdout`), 'new\n');
    assert.equal(await storedObject(`logs/${padded}/stdout`), 'abcdef');
  });

  it('moves a large stream to a temporary file, stores it intact and removes the file', async () => {
    // Prepare
    const jobId = nextJobId++;
    const first = randomBytes(3 * SPILL_THRESHOLD_BYTES);
    const second = randomBytes(40 * SPILL_THRESHOLD_BYTES);
    await writeStream(jobId, first);
    const sink = await store.open(jobId, 'stdout', first.length - 100);

    // Act
    for (let index = 0; index < second.length; index += 500) {
      await sink.write(second.subarray(index, index + 500));
    }
    const spilled = await readdir(tempDir);
    await sink.close();

    // Assess
    const expected = Buffer.concat([first.subarray(0, first.length - 100), second]);
    const stored = await store.read(finished(jobId), 'stdout', 0, ANY_LENGTH);
    assert.equal(spilled.length, 1);
    assert.deepEqual(await readdir(tempDir), []);
    assert.ok(stored?.equals(expected));
    assert.equal(await store.size(jobId, 'stdout'), expected.length);
  });

  it('keeps chunks in the order write was called', async () => {
    // Prepare
    const jobId = nextJobId++;
    const sink = await store.open(jobId, 'stdout');
    const lines = Array.from({ length: 300 }, (_, index) => `line ${index}\n`);

    // Act
    await Promise.all(lines.map((line) => sink.write(Buffer.from(line))));
    await sink.close();

    // Assess
    assert.equal(await storedObject(`logs/${jobId}/stdout`), lines.join(''));
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

  it('reads a finished job from an offset, at most maxBytes, and nothing past the end', async () => {
    // Prepare
    const jobId = nextJobId++;
    await writeStream(jobId, '0123456789');
    const job = finished(jobId);

    // Act
    const reads = await Promise.all([
      store.read(job, 'stdout', 0, 4),
      store.read(job, 'stdout', 4, 100),
      store.read(job, 'stdout', 8, 4),
      store.read(job, 'stdout', 10, 4),
      store.read(job, 'stdout', 50, 4),
    ]);

    // Assess
    assert.deepEqual(reads.map(String), ['0123', '456789', '89', '', '']);
  });

  it('reads an empty stored stream as empty rather than missing', async () => {
    // Prepare
    const jobId = nextJobId++;
    await (await store.open(jobId, 'stderr')).close();

    // Act
    const content = await store.read(finished(jobId), 'stderr', 0, ANY_LENGTH);

    // Assess
    assert.deepEqual(content, Buffer.alloc(0));
  });

  it('reads only S3 for a running job whose handle is not an ECS task', async () => {
    // Prepare
    const jobId = nextJobId++;
    await writeStream(jobId, 'earlier\n');
    const job = buildJobRecord(jobId, {
      status: 'running',
      runState: {
        taskIndex: 1,
        taskAttempt: 1,
        handle: 'b1946ac92492d2347c6235b4d2611184',
        walltimeUsedMs: 0,
        stdoutStartBytes: 8,
        stderrStartBytes: 0,
      },
    });

    // Act
    const content = await store.read(job, 'stdout', 0, ANY_LENGTH);

    // Assess
    assert.equal(String(content), 'earlier\n');
    assert.equal(cloudWatchMock.calls().length, 0);
  });

  it('refuses a read of no bytes and a job id that is not a whole number', async () => {
    // Act and assess
    await assert.rejects(store.read(finished(1), 'stdout', 0, 0), ValidationError);
    await assert.rejects(store.size(1.5, 'stdout'), ValidationError);
    await assert.rejects(store.open(-1, 'stdout'), ValidationError);
  });
});
