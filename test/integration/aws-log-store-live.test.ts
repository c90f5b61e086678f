import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsLogStore } from '../../adapters/aws/aws-log-store';
import type { JobRecord } from '../../core/src/job-types';
import type { LogStream } from '../../core/src/ports';
import { buildJobRecord, silentLogger } from '../helpers/fakes';
import { createTestBucket, type S3Emulator, startS3Emulator } from '../helpers/s3-emulator';

const LOG_GROUP = '/flare/jobs';
const TASK_ID = '0f3c6b1e9d8a4b7c8e2f1a0b9c8d7e6f';
const TASK_ARN = `arn:aws:ecs:eu-west-2:123456789012:task/flare-jobs/${TASK_ID}`;
const ANY_LENGTH = 1024 * 1024;

/** One GetLogEvents answer; the last page of a stream hands back the token it was given. */
function page(messages: readonly string[], nextForwardToken: string): GetLogEventsCommandOutput {
  return {
    events: messages.map((message, index) => ({ message, timestamp: index, ingestionTime: 0 })),
    nextForwardToken,
    nextBackwardToken: 'b/0',
    $metadata: {},
  };
}

describe('AwsLogStore while a task runs on Fargate', () => {
  let emulator: S3Emulator;
  let store: AwsLogStore;
  const cloudWatch = new CloudWatchLogsClient({ region: 'eu-west-2' });
  const cloudWatchMock = mockClient(cloudWatch);
  let nextJobId = 1;

  before(async () => {
    emulator = await startS3Emulator();
    store = new AwsLogStore({
      s3: emulator.s3,
      logs: cloudWatch,
      bucket: await createTestBucket(emulator),
      logGroupName: LOG_GROUP,
      logger: silentLogger(),
    });
  });

  after(async () => {
    cloudWatchMock.restore();
    await emulator.close();
  });

  beforeEach(() => {
    cloudWatchMock.reset();
  });

  /** A running job whose earlier tasks stored `stored`, the current task starting at `startBytes`. */
  async function runningJob(
    stored: string | undefined,
    startBytes: number,
    stream: LogStream = 'stdout',
  ): Promise<JobRecord> {
    const id = nextJobId++;
    if (stored !== undefined) {
      const sink = await store.open(id, stream);
      await sink.write(Buffer.from(stored));
      await sink.close();
    }
    return buildJobRecord(id, {
      status: 'running',
      runState: {
        taskIndex: 1,
        taskAttempt: 1,
        handle: TASK_ARN,
        walltimeUsedMs: 0,
        stdoutStartBytes: stream === 'stdout' ? startBytes : 0,
        stderrStartBytes: stream === 'stderr' ? startBytes : 0,
      },
    });
  }

  /** A stream whose events come in `pages`; one more, empty page marks its end. */
  function serveEvents(...pages: (readonly string[])[]): void {
    let previous: string | undefined;
    pages.forEach((messages, index) => {
      const matcher = previous === undefined ? {} : { nextToken: previous };
      const token = `f/${index + 1}`;
      cloudWatchMock.on(GetLogEventsCommand, matcher).resolves(page(messages, token));
      previous = token;
    });
    cloudWatchMock
      .on(GetLogEventsCommand, { nextToken: previous ?? '' })
      .resolves(page([], previous ?? ''));
  }

  function requests() {
    return cloudWatchMock.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input);
  }

  it("serves the stored bytes, then the task's events as lines", async () => {
    // Prepare
    const job = await runningJob('task 0 line\n', 12);
    serveEvents(['first', 'second']);

    // Act
    const content = await store.read(job, 'stdout', 0, ANY_LENGTH);

    // Assess
    assert.equal(String(content), 'task 0 line\nfirst\nsecond\n');
    assert.deepEqual(requests()[0], {
      logGroupName: LOG_GROUP,
      logStreamName: `tasks/${TASK_ID}/stdout`,
      startFromHead: true,
      limit: 10_000,
    });
  });

  it("ignores what an earlier attempt of the task stored past the task's start", async () => {
    // Prepare
    const job = await runningJob('task 0\nattempt 1 output\n', 7);
    serveEvents(['attempt 2 output']);

    // Act
    const content = await store.read(job, 'stdout', 0, ANY_LENGTH);

    // Assess
    assert.equal(String(content), 'task 0\nattempt 2 output\n');
  });

  it('gives the same bytes at every offset and bound as the whole stream has', async () => {
    // Prepare
    const job = await runningJob('stored ü\n', 10);
    serveEvents(['événement un', ''], ['two']);
    const whole = Buffer.from('stored ü\névénement un\n\ntwo\n');

    // Act
    const cases: [number, number][] = [];
    for (let offset = 0; offset <= whole.length + 1; offset += 1) {
      for (const maxBytes of [1, 3, 10, 64]) cases.push([offset, maxBytes]);
    }
    const reads = await Promise.all(
      cases.map(([offset, maxBytes]) => store.read(job, 'stdout', offset, maxBytes)),
    );

    // Assess
    cases.forEach(([offset, maxBytes], index) => {
      const expected = whole.subarray(offset, offset + maxBytes);
      assert.deepEqual(reads[index], expected, `offset ${offset}, maxBytes ${maxBytes}`);
    });
  });

  it('reads no events when the bound ends inside the stored bytes', async () => {
    // Prepare
    const job = await runningJob('0123456789', 10);

    // Act
    const content = await store.read(job, 'stdout', 2, 8);

    // Assess
    assert.equal(String(content), '23456789');
    assert.equal(requests().length, 0);
  });

  it('follows the forward token to the end of the stream, across empty pages', async () => {
    // Prepare
    const job = await runningJob(undefined, 0);
    serveEvents(['a', 'b'], [], ['c']);

    // Act
    const content = await store.read(job, 'stdout', 0, ANY_LENGTH);

    // Assess
    assert.equal(String(content), 'a\nb\nc\n');
    assert.deepEqual(
      requests().map((input) => input.nextToken),
      [undefined, 'f/1', 'f/2', 'f/3'],
    );
  });

  it('stops reading pages once maxBytes are collected', async () => {
    // Prepare
    const job = await runningJob('ab\n', 3);
    serveEvents(['cd', 'ef'], ['gh']);

    // Act
    const content = await store.read(job, 'stdout', 1, 6);

    // Assess
    assert.equal(String(content), 'b\ncd\ne');
    assert.equal(requests().length, 1);
  });

  it('reads the stderr stream from its own start', async () => {
    // Prepare
    const job = await runningJob('warning\n', 8, 'stderr');
    serveEvents(['error']);

    // Act
    const content = await store.read(job, 'stderr', 8, ANY_LENGTH);

    // Assess
    assert.equal(String(content), 'error\n');
    assert.equal(requests()[0]?.logStreamName, `tasks/${TASK_ID}/stderr`);
  });

  it('reads undefined for a job with no output yet, and empty once earlier tasks wrote', async () => {
    // Prepare
    const silent = await runningJob(undefined, 0);
    const earlier = await runningJob('task 0\n', 7);
    cloudWatchMock.on(GetLogEventsCommand).rejects(
      new ResourceNotFoundException({
        message: 'The specified log stream does not exist.',
        $metadata: {},
      }),
    );

    // Act
    const nothing = await store.read(silent, 'stdout', 0, ANY_LENGTH);
    const stored = await store.read(earlier, 'stdout', 0, ANY_LENGTH);
    const atEnd = await store.read(earlier, 'stdout', 7, ANY_LENGTH);

    // Assess
    assert.equal(nothing, undefined);
    assert.equal(String(stored), 'task 0\n');
    assert.deepEqual(atEnd, Buffer.alloc(0));
  });

  it('reads a finished job from S3 alone, even with a task handle left in its run state', async () => {
    // Prepare
    const running = await runningJob('all output\n', 0);
    const job: JobRecord = { ...running, status: 'completed' };

    // Act
    const content = await store.read(job, 'stdout', 0, ANY_LENGTH);

    // Assess
    assert.equal(String(content), 'all output\n');
    assert.equal(requests().length, 0);
  });
});
