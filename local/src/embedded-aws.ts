import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import {
  type AwsClientOptions,
  createDynamoDbClient,
  createSqsClient,
  EMULATOR_CREDENTIALS,
} from '../../adapters/aws/clients';
import { ensureJobTable } from '../../adapters/aws/job-table';
import { StartupError } from '../../core/src/errors';
import type { Logger } from '../../core/src/logger';

/** The part of dynalite's API Flare uses; the package ships no type declarations. */
type StartDynalite = (options: {
  readonly path?: string;
  readonly createTableMs?: number;
  readonly deleteTableMs?: number;
  readonly updateTableMs?: number;
}) => Server;

const requireHere = createRequire(import.meta.url);
const dynalite = requireHere('dynalite') as StartDynalite;
closeLevelIteratorsOnReturn();

/**
 * dynalite 4 reads LevelDB through streams that release their iterator with
 * `iterator.return()`, which abstract-level 3 iterators lack (they have `close()` only, and
 * reaching the end does not close them). So every Query and Scan left its iterators open, each
 * holding a native LevelDB iterator and snapshot and kept by the database until it closes: the
 * process grew by every list request. Giving the iterators that `return()` closes them.
 */
function closeLevelIteratorsOnReturn(): void {
  const fromDynalite = createRequire(requireHere.resolve('dynalite'));
  const fromLevel = createRequire(fromDynalite.resolve('level'));
  const fromClassicLevel = createRequire(fromLevel.resolve('classic-level'));
  const { AbstractIterator } = fromClassicLevel('abstract-level') as {
    AbstractIterator: { prototype: object };
  };
  // The base class shared by the entry, key and value iterators.
  const common = Object.getPrototypeOf(AbstractIterator.prototype) as { return?: unknown };
  if (typeof common.return === 'function') return;
  Object.defineProperty(common, 'return', {
    configurable: true,
    writable: true,
    value: async function (this: { close(): Promise<void> }) {
      await this.close();
      return { done: true, value: undefined };
    },
  });
}

export const EMULATOR_REGION = 'us-east-1';

/** A running emulator, reachable on 127.0.0.1 only. */
export interface Emulator {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite: in memory without `path`, in a LevelDB directory with it. */
export async function startDynamoDbEmulator(
  options: { readonly path?: string } = {},
): Promise<Emulator> {
  const server = dynalite({
    ...(options.path !== undefined ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // dynalite's close also closes its LevelDB, which is what releases the directory's lock.
    close: () =>
      new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      ),
  };
}

/** Starts fauxqs, which keeps its queues in memory only. */
export async function startSqsEmulator(): Promise<Emulator> {
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export interface EmbeddedAwsOptions {
  /** Where the job table lives, under `dynamodb/`. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** @default 'flare-jobs' */
  readonly tableName?: string;
  /** @default 'flare-jobs' */
  readonly queueName?: string;
}

export interface EmbeddedAws {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly tableName: string;
  readonly queueUrl: string;
  /**
   * Stops both emulators and frees `dataDir` for the next start. An SQS long poll still open
   * is cut off with a connection error, so stop the pollers first.
   */
  close(): Promise<void>;
}

/**
 * The AWS services local mode needs, run inside the Flare process. The table is on disk, so
 * jobs survive a restart; the queue is in memory, so its messages do not, and whoever starts
 * local mode rebuilds it from the store's pending jobs.
 */
export async function startEmbeddedAws(options: EmbeddedAwsOptions): Promise<EmbeddedAws> {
  const { dataDir, logger } = options;
  const tableName = options.tableName ?? 'flare-jobs';
  const queueName = options.queueName ?? 'flare-jobs';
  const dynamoDbDir = join(dataDir, 'dynamodb');
  await mkdir(dynamoDbDir, { recursive: true });
  const releaseLock = await lockDataDir(dataDir);

  const started: Emulator[] = [];
  const closeAll = async (): Promise<void> => {
    try {
      for (const emulator of started.reverse()) await emulator.close();
    } finally {
      await releaseLock();
    }
  };

  try {
    const dynamoDb = await startDynamoDbEmulator({ path: dynamoDbDir });
    started.push(dynamoDb);
    const sqs = await startSqsEmulator();
    started.push(sqs);
    const queueUrl = await prepareResources(dynamoDb.endpoint, sqs.endpoint, tableName, queueName);

    logger.info('Embedded AWS started', {
      dataDir,
      dynamoDbEndpoint: dynamoDb.endpoint,
      sqsEndpoint: sqs.endpoint,
    });
    let closing: Promise<void> | undefined;
    return {
      dynamoDbEndpoint: dynamoDb.endpoint,
      sqsEndpoint: sqs.endpoint,
      tableName,
      queueUrl,
      close: () => {
        closing ??= closeAll().then(() => logger.info('Embedded AWS stopped', { dataDir }));
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function prepareResources(
  dynamoDbEndpoint: string,
  sqsEndpoint: string,
  tableName: string,
  queueName: string,
): Promise<string> {
  const clientOptions: AwsClientOptions = {
    region: EMULATOR_REGION,
    credentials: EMULATOR_CREDENTIALS,
  };
  const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: dynamoDbEndpoint });
  const sqs = createSqsClient({ ...clientOptions, endpoint: sqsEndpoint });
  try {
    await ensureJobTable(dynamoDb, tableName);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    if (QueueUrl === undefined) {
      throw new StartupError(`The embedded SQS did not create ${queueName}`);
    }
    return QueueUrl;
  } finally {
    dynamoDb.destroy();
    sqs.destroy();
  }
}

/**
 * LevelDB allows one opener per directory, and dynalite does not report a refused open: the
 * second Flare would crash later with an unrelated error. A pid file turns that into a clear
 * message at start. It is written aside and linked into place, so it is never seen empty; one
 * left by a process that died is taken over (two Flares taking over the same stale file at
 * once could both succeed, and the second would then hit LevelDB's own lock).
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, 'embedded-aws.pid');
  const draftPath = `${lockPath}.${process.pid}`;
  await writeFile(draftPath, String(process.pid));
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await link(draftPath, lockPath);
        return () => rm(lockPath, { force: true });
      } catch (error) {
        if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
      }
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (isRunning(holder)) {
        throw new StartupError(
          `${dataDir} is in use by another Flare (process ${holder}); stop it or choose ` +
            'another data directory',
        );
      }
      await rm(lockPath, { force: true });
    }
    throw new StartupError(`Could not lock ${dataDir}; another Flare may be starting with it`);
  } finally {
    await rm(draftPath, { force: true });
  }
}

/**
 * Fails, as a second start would, while another live Flare holds `dataDir`. Called before the
 * engine is touched: a second Flare must refuse before it adopts anything of the first's.
 */
export async function assertDataDirFree(dataDir: string): Promise<void> {
  const lockPath = join(dataDir, 'embedded-aws.pid');
  const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
  if (holder !== process.pid && isRunning(holder)) {
    throw new StartupError(
      `${dataDir} is in use by another Flare (process ${holder}); stop it or choose ` +
        'another data directory',
    );
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}
