import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { SqsJobQueue } from '../../adapters/aws/sqs-job-queue';
import { createLogger } from '../../core/src/logger';
import { type AwsEmulators, createTestQueue, startAwsEmulators } from '../helpers/aws-emulators';

const VISIBILITY_TIMEOUT_SECONDS = 1;

describe('SqsJobQueue', () => {
  let emulators: AwsEmulators;
  const logger = createLogger('sqs-job-queue-test');

  before(async () => {
    emulators = await startAwsEmulators();
  });

  after(async () => {
    await emulators.close();
  });

  async function freshQueue(): Promise<{ queue: SqsJobQueue; queueUrl: string }> {
    const queueUrl = await createTestQueue(emulators, {
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
    });
    return { queue: new SqsJobQueue(emulators.sqs, queueUrl, logger), queueUrl };
  }

  it('delivers the job ids that were sent', async () => {
    // Prepare
    const { queue } = await freshQueue();
    await queue.send(1);
    await queue.send(2);
    await queue.send(3);

    // Act
    const received = await queue.receive({ maxMessages: 10, waitTimeSeconds: 1 });

    // Assess
    const ids = received.map((message) => message.jobId).sort((a, b) => a - b);
    assert.deepEqual(ids, [1, 2, 3]);
    assert.ok(received.every((message) => message.receipt.length > 0));
  });

  it('returns nothing when the queue stays empty for the wait', async () => {
    // Prepare
    const { queue } = await freshQueue();

    // Act
    const received = await queue.receive({ maxMessages: 10, waitTimeSeconds: 1 });

    // Assess
    assert.deepEqual(received, []);
  });

  it('holds a delayed message back until its delay has passed', async () => {
    // Prepare
    const { queue } = await freshQueue();
    await queue.send(9, { delaySeconds: 1 });

    // Act
    const early = await queue.receive({ maxMessages: 1, waitTimeSeconds: 0 });
    await delay(1_200);
    const later = await queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });

    // Assess
    assert.deepEqual(early, []);
    assert.deepEqual(
      later.map((message) => message.jobId),
      [9],
    );
  });

  it('redelivers an unacknowledged message after its visibility timeout', async () => {
    // Prepare
    const { queue } = await freshQueue();
    await queue.send(42);
    const [first] = await queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });
    assert.equal(first?.jobId, 42);
    const hidden = await queue.receive({ maxMessages: 1, waitTimeSeconds: 0 });

    // Act
    await delay(VISIBILITY_TIMEOUT_SECONDS * 1000 + 200);
    const again = await queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });

    // Assess
    assert.deepEqual(hidden, []);
    assert.deepEqual(
      again.map((message) => message.jobId),
      [42],
    );
  });

  it('does not redeliver an acknowledged message', async () => {
    // Prepare
    const { queue } = await freshQueue();
    await queue.send(7);
    const [message] = await queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });
    assert.ok(message);

    // Act
    await queue.ack(message.receipt);
    await delay(VISIBILITY_TIMEOUT_SECONDS * 1000 + 200);
    const later = await queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });

    // Assess
    assert.deepEqual(later, []);
  });

  it('drops messages that name no job and returns the ones that do', async (context) => {
    // Prepare
    const { queue, queueUrl } = await freshQueue();
    const warn = context.mock.method(logger, 'warn', () => undefined);
    for (const body of ['not json', '{"jobId":"7"}', '{"jobId":-1}', '{}', 'null']) {
      await emulators.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    }
    await queue.send(5);

    // Act
    const received = await queue.receive({ maxMessages: 10, waitTimeSeconds: 1 });
    await delay(VISIBILITY_TIMEOUT_SECONDS * 1000 + 200);
    const later = await queue.receive({ maxMessages: 10, waitTimeSeconds: 1 });

    // Assess
    assert.deepEqual(
      received.map((message) => message.jobId),
      [5],
    );
    assert.deepEqual(
      later.map((message) => message.jobId),
      [5],
    );
    assert.equal(warn.mock.callCount(), 5);
  });

  it('asks SQS for no more than ten messages at a time', async () => {
    // Prepare
    const { queue } = await freshQueue();
    for (let id = 1; id <= 12; id += 1) await queue.send(id);

    // Act
    const received = await queue.receive({ maxMessages: 50, waitTimeSeconds: 1 });

    // Assess
    assert.equal(received.length, 10);
  });
});
