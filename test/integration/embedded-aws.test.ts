import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  createDocumentClient,
  createSqsClient,
  EMULATOR_CREDENTIALS,
} from '../../adapters/aws/clients';
import { DynamoDbJobStore } from '../../adapters/aws/dynamodb-job-store';
import { SqsJobQueue } from '../../adapters/aws/sqs-job-queue';
import { StartupError } from '../../core/src/errors';
import type { JobRecord } from '../../core/src/job-types';
import { createLogger } from '../../core/src/logger';
import { EMULATOR_REGION, type EmbeddedAws, startEmbeddedAws } from '../../local/src/embedded-aws';

const EMBEDDED_AWS_MODULE = fileURLToPath(
  new URL('../../local/src/embedded-aws.ts', import.meta.url),
);
const STORE_MODULE = fileURLToPath(
  new URL('../../adapters/aws/dynamodb-job-store.ts', import.meta.url),
);
const CLIENTS_MODULE = fileURLToPath(new URL('../../adapters/aws/clients.ts', import.meta.url));

const JOB: JobRecord = {
  id: 1,
  owner: 'alice',
  groups: ['physics'],
  status: 'pending',
  spec: {
    name: 'survivor',
    resources: { nodes: 1 },
    tasks: [{ image: 'busybox', runtime: 'docker' }],
  },
  createTime: 1_700_000_000,
  inQueue: true,
  attempt: 0,
};

/** Opens the embedded services' table and queue the way local mode's components would. */
function connect(aws: EmbeddedAws) {
  const options = { region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS };
  const documentClient = createDocumentClient({ ...options, endpoint: aws.dynamoDbEndpoint });
  const sqs = createSqsClient({ ...options, endpoint: aws.sqsEndpoint });
  return {
    store: new DynamoDbJobStore(documentClient, aws.tableName),
    queue: new SqsJobQueue(sqs, aws.queueUrl, logger),
    destroy: () => {
      documentClient.destroy();
      sqs.destroy();
    },
  };
}

/** Reads job 1 from `dataDir` in a separate Node process, as a restarted Flare would. */
async function readJobInChildProcess(dataDir: string): Promise<unknown> {
  const script = `
    import { startEmbeddedAws } from ${JSON.stringify(EMBEDDED_AWS_MODULE)};
    import { DynamoDbJobStore } from ${JSON.stringify(STORE_MODULE)};
    import { createDocumentClient, EMULATOR_CREDENTIALS } from ${JSON.stringify(CLIENTS_MODULE)};
    const silent = { info() {}, warn() {}, error() {}, debug() {} };
    const aws = await startEmbeddedAws({ dataDir: ${JSON.stringify(dataDir)}, logger: silent });
    const client = createDocumentClient({
      region: 'us-east-1', endpoint: aws.dynamoDbEndpoint, credentials: EMULATOR_CREDENTIALS,
    });
    const job = await new DynamoDbJobStore(client, aws.tableName).get(1);
    client.destroy();
    await aws.close();
    process.stdout.write(JSON.stringify(job));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    { env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 },
  );
  return JSON.parse(stdout);
}

const logger = createLogger('embedded-aws-test');

describe('startEmbeddedAws', () => {
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'flare-embedded-'));
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves a job table and queue on 127.0.0.1', async () => {
    // Prepare
    const aws = await startEmbeddedAws({ dataDir: join(dataDir, 'fresh'), logger });
    const { store, queue, destroy } = connect(aws);

    try {
      // Act
      await store.create(JOB);
      await queue.send(JOB.id);
      const received = await queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });

      // Assess
      assert.match(aws.dynamoDbEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(aws.sqsEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(await store.get(JOB.id), JOB);
      assert.deepEqual(
        received.map((message) => message.jobId),
        [JOB.id],
      );
    } finally {
      destroy();
      await aws.close();
    }
  });

  it('keeps jobs and the id sequence across a restart in the same process', async () => {
    // Prepare
    const first = await startEmbeddedAws({ dataDir, logger });
    const before = connect(first);
    await before.store.create(JOB);
    const allocated = await before.store.allocateId();
    before.destroy();
    await first.close();

    // Act
    const second = await startEmbeddedAws({ dataDir, logger });
    const afterRestart = connect(second);
    const job = await afterRestart.store.get(JOB.id);
    const next = await afterRestart.store.allocateId();
    afterRestart.destroy();
    await second.close();

    // Assess
    assert.deepEqual(job, JOB);
    assert.equal(next, allocated + 1);
  });

  it('frees the data directory for a later process', async () => {
    // Prepare
    const aws = await startEmbeddedAws({ dataDir, logger });
    await aws.close();

    // Act
    const job = await readJobInChildProcess(dataDir);

    // Assess
    assert.deepEqual(job, JOB);
  });

  it('refuses a second start on a data directory that is in use', async () => {
    // Prepare
    const first = await startEmbeddedAws({ dataDir, logger });

    try {
      // Act
      const second = startEmbeddedAws({ dataDir, logger });

      // Assess
      await assert.rejects(second, StartupError);
      const { store, destroy } = connect(first);
      assert.deepEqual(await store.get(JOB.id), JOB);
      destroy();
    } finally {
      await first.close();
    }
  });
});
