import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  createDocumentClient,
  createSqsClient,
  EMULATOR_CREDENTIALS,
} from '../../adapters/aws/clients';
import { DynamoDbJobStore } from '../../adapters/aws/dynamodb-job-store';
import { SqsJobQueue } from '../../adapters/aws/sqs-job-queue';
import { DockerClient } from '../../adapters/docker/docker-client';
import { DockerTaskRunner } from '../../adapters/docker/docker-task-runner';
import { FsLogStore } from '../../adapters/local-fs/fs-log-store';
import { StartupError } from '../../core/src/errors';
import { JobExecutor, type JobExecutorDeps } from '../../core/src/execution/job-executor';
import { JobService } from '../../core/src/jobs/job-service';
import type { Logger } from '../../core/src/logger';
import { systemClock } from '../../core/src/ports';
import { createTokenVerifier } from '../../functions/src/auth/token-verifier';
import { ROUTES } from '../../functions/src/routes';
import { JobWorker } from '../../worker/src/job-worker';
import { connectContainerEngine } from './container-engine';
import { assertDataDirFree, type EmbeddedAws, startEmbeddedAws } from './embedded-aws';
import { createHttpServer } from './http-server';
import type { LocalConfig } from './local-config';
import { ensureLocalIssuer } from './local-issuer';

export interface RunningService {
  /** The API's base URL, e.g. http://127.0.0.1:8080/api/v1. */
  readonly apiUrl: string;
  /** The embedded emulators, for tools that measure the API against bare calls. */
  readonly aws: Pick<EmbeddedAws, 'dynamoDbEndpoint' | 'sqsEndpoint' | 'tableName' | 'queueUrl'>;
  stop(): Promise<void>;
}

const JWKS_PATH = '/.well-known/jwks.json';
const STOP_DEADLINE_MS = 10_000;

/**
 * Starts Flare on one machine: embedded DynamoDB and SQS emulators, a container engine, the
 * API behind a local HTTP adapter, and a worker, all in this process.
 */
export async function startLocalService(
  config: LocalConfig,
  logger: Logger,
): Promise<RunningService> {
  await ensureWritable(config.dataDir);
  // Found out now rather than after the engine and the emulators have started.
  await ensurePortFree(config);
  await assertDataDirFree(config.dataDir);
  // Filled in as parts start; stopped in the reverse order: the server, so that no request
  // arrives half-way, then the worker, then the emulators it polls, then the engine.
  const parts: {
    engine?: { close(): Promise<void> };
    aws?: { close(): Promise<void> };
    worker?: JobWorker;
    server?: Server;
  } = {};
  const stopAll = async () => {
    const steps = [
      parts.server && (() => closeServer(parts.server as Server)),
      parts.worker && (() => (parts.worker as JobWorker).stop(STOP_DEADLINE_MS)),
      parts.aws?.close.bind(parts.aws),
      parts.engine?.close.bind(parts.engine),
    ];
    for (const step of steps) {
      await step?.().catch((error: unknown) => logger.warn('shutdown step failed', { error }));
    }
  };
  try {
    const issuer = await ensureLocalIssuer(config.dataDir);
    const engine = await connectContainerEngine({ dataDir: config.dataDir, logger });
    parts.engine = engine;
    const aws = await startEmbeddedAws({ dataDir: config.dataDir, logger });
    parts.aws = aws;

    const clientOptions = { region: 'us-east-1', credentials: EMULATOR_CREDENTIALS };
    const documents = createDocumentClient({ ...clientOptions, endpoint: aws.dynamoDbEndpoint });
    const sqs = createSqsClient({ ...clientOptions, endpoint: aws.sqsEndpoint });
    const store = new DynamoDbJobStore(documents, aws.tableName);
    const queue = new SqsJobQueue(sqs, aws.queueUrl, logger);
    const logs = new FsLogStore(join(config.dataDir, 'logs'));
    const docker = new DockerClient(engine);
    const instanceId = localInstanceId(config.dataDir);
    // The worker's lines must not carry the request keys the API's logger appends.
    const workerLogger = logger.createChild({ serviceName: 'flare-worker' });
    const runner = new DockerTaskRunner({
      client: docker,
      logger: workerLogger,
      instance: `flare-${instanceId.slice(-8)}`,
      engineName: engine.engineName,
    });
    await requeuePendingJobs(store, queue, logger);

    const apiLogger = logger.createChild({ serviceName: 'flare-api' });
    const jobs = new JobService({ store, queue, logs, clock: systemClock, logger: apiLogger });
    const claims = { usernameClaim: config.usernameClaim, groupsClaim: config.groupsClaim };
    const verifier = createTokenVerifier({
      ...claims,
      ...(config.externalIssuer ?? {
        issuer: issuer.issuer,
        jwksUri: `http://${config.host}:${config.port}${JWKS_PATH}`,
        audience: null,
        jwks: issuer.jwks,
      }),
    });
    const checks = [
      { name: 'DYNAMODB', check: async () => void (await store.get(0)) },
      { name: 'CONTAINER_ENGINE', check: async () => void (await runner.capacity()) },
    ];
    const deps = { jobs, verifier, checks, logger: apiLogger };
    const server = createHttpServer({
      basePath: config.basePath,
      routes: ROUTES.map((definition) => ({ definition, handler: definition.create(deps) })),
      documents: { [JWKS_PATH]: issuer.jwks },
      logger,
    });
    await listen(server, config);
    parts.server = server;

    if (config.runWorker) {
      const worker = createWorker(config, instanceId, {
        store,
        queue,
        runner,
        logs,
        logger: workerLogger,
      });
      worker.start();
      parts.worker = worker;
    }

    const { port } = server.address() as AddressInfo;
    const apiUrl = `http://${config.host}:${port}${config.basePath}`;
    return { apiUrl, aws, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function createWorker(
  config: LocalConfig,
  workerId: string,
  deps: Omit<JobExecutorDeps, 'clock'>,
): JobWorker {
  const executor = new JobExecutor(
    { ...deps, clock: systemClock },
    {
      workerId,
      leaseDurationMs: config.leaseDurationMs,
      statusPollIntervalMs: config.statusPollIntervalMs,
      stopGraceSeconds: 2,
    },
  );
  return new JobWorker(
    { queue: deps.queue, executor, logger: deps.logger },
    {
      concurrency: config.workerConcurrency,
      pollWaitTimeSeconds: 1,
      reconcileIntervalMs: config.leaseDurationMs / 2,
      errorBackoffMs: 1000,
    },
  );
}

/** The queue is in memory; the table is not. Every pending job gets its message back. */
async function requeuePendingJobs(
  store: DynamoDbJobStore,
  queue: SqsJobQueue,
  logger: Logger,
): Promise<void> {
  const pending = await store.listUnfinished('pending');
  for (const job of pending) {
    await queue.send(job.id);
  }
  if (pending.length > 0) {
    logger.info('pending jobs requeued', { count: pending.length });
  }
}

/**
 * One id per data directory: the worker's, so that a restarted worker resumes its own jobs
 * at once, and the prefix of its containers' names.
 */
function localInstanceId(dataDir: string): string {
  const file = join(dataDir, 'instance-id');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const id = `local-${randomUUID()}`;
    writeFileSync(file, id);
    return id;
  }
}

async function ensureWritable(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
    const probe = join(dataDir, '.write-check');
    await writeFile(probe, '');
  } catch (error) {
    throw new StartupError(
      `The data directory ${dataDir} is not writable (${(error as NodeJS.ErrnoException).code}): ` +
        'set FLARE_DATA_DIR to a directory you can write',
      { cause: error },
    );
  }
}

function listen(server: Server, config: LocalConfig): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new StartupError(`Port ${config.port} is in use: stop what uses it, or set PORT`)
          : new StartupError(`Cannot listen on ${config.host}:${config.port}: ${error.message}`),
      );
    });
    server.listen(config.port, config.host, () => resolve());
  });
}

async function ensurePortFree(config: LocalConfig): Promise<void> {
  if (config.port === 0) return;
  const probe = createServer();
  await listen(probe, config);
  await closeServer(probe);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
