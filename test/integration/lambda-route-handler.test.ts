import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { interceptLocalhostDns } from 'fauxqs';
import { AwsLogStore } from '../../adapters/aws/aws-log-store';
import { SqsJobQueue } from '../../adapters/aws/sqs-job-queue';
import { StartupError } from '../../core/src/errors';
import type { ApiHandler } from '../../functions/src/http/api-handler';
import { createRouteHandler } from '../../functions/src/lambda/create-route-handler';
import { EMULATOR_REGION } from '../../local/src/embedded-aws';
import { ensureLocalIssuer, type LocalIssuer, signLocalToken } from '../../local/src/local-issuer';
import { buildApiEvent, jsonOf, lambdaContext, textOf } from '../helpers/api-events';
import {
  type AwsEmulators,
  createTestJobTable,
  createTestQueue,
  startAwsEmulators,
} from '../helpers/aws-emulators';
import { buildJobSpecInput } from '../helpers/job-builders';
import { type JwksServer, startJwksServer } from '../helpers/jwks-server';
import { createTestBucket, type S3Emulator, startS3Emulator } from '../helpers/s3-emulator';
import { silentLogger } from '../helpers/silent-logger';

const claims = { usernameClaim: 'preferred_username', groupsClaim: 'groups' };

describe('the Lambda route handler against DynamoDB, SQS and S3 emulators', () => {
  let emulators: AwsEmulators;
  let s3: S3Emulator;
  let bucket: string;
  let restoreDns: () => void;
  let dir: string;
  let issuer: LocalIssuer;
  let jwks: JwksServer;
  let queueUrl: string;
  let env: Record<string, string>;
  let savedEnv: NodeJS.ProcessEnv;
  let createJob: ApiHandler;
  let jwksRequestsAtInit: number;

  before(async () => {
    // The function's clients take their endpoints from the environment, and then address the
    // queue by its URL and the bucket by host name, both under `localhost` in fauxqs.
    restoreDns = interceptLocalhostDns();
    emulators = await startAwsEmulators();
    s3 = await startS3Emulator();
    bucket = await createTestBucket(s3);
    dir = await mkdtemp(join(tmpdir(), 'flare-lambda-'));
    issuer = await ensureLocalIssuer(dir);
    jwks = await startJwksServer(issuer, dir);
    queueUrl = await createTestQueue(emulators);
    env = {
      AWS_REGION: EMULATOR_REGION,
      AWS_ACCESS_KEY_ID: 'flare-local',
      AWS_SECRET_ACCESS_KEY: 'flare-local',
      AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamoDbEndpoint,
      AWS_ENDPOINT_URL_SQS: new URL(queueUrl).origin,
      AWS_ENDPOINT_URL_S3: s3.endpoint.replace('127.0.0.1', 's3.localhost'),
      FLARE_TABLE_NAME: await createTestJobTable(emulators),
      FLARE_QUEUE_URL: queueUrl,
      FLARE_LOG_BUCKET: bucket,
      FLARE_JOB_LOG_GROUP: '/flare/jobs',
      FLARE_LOG_LEVEL: 'SILENT',
      FLARE_JWT_ISSUER: issuer.issuer,
      FLARE_JWKS_URI: jwks.uri,
      FLARE_ROUTE: 'create-job',
    };
    // The SDK reads credentials and endpoints from the process environment, as in Lambda.
    savedEnv = { ...process.env };
    Object.assign(process.env, env);
    const { handler } = await import('../../functions/src/lambda/route-handler');
    createJob = handler;
    jwksRequestsAtInit = jwks.requests();
  });

  after(async () => {
    process.env = savedEnv;
    await jwks.close();
    await emulators.close();
    await s3.close();
    restoreDns();
    await rm(dir, { recursive: true, force: true });
  });

  function tokenFor(username: string): string {
    return signLocalToken(issuer, { ...claims, username, groups: [], lifetimeSeconds: 600 });
  }

  it('creates a job with POST /jobs and describes it with GET /jobs/{id}', async () => {
    // Prepare
    const token = tokenFor('alice');
    const describeJob = createRouteHandler({ ...env, FLARE_ROUTE: 'describe-job' });

    // Act
    const created = await createJob(
      buildApiEvent('POST /jobs', { token, body: JSON.stringify(buildJobSpecInput()) }),
      lambdaContext,
    );
    const { id } = jsonOf(created) as { id: number };
    const described = await describeJob(
      buildApiEvent('GET /jobs/{id}', { token, pathParameters: { id: String(id) } }),
      lambdaContext,
    );

    // Assess
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(described.statusCode, 200, described.body);
    const [job] = jsonOf(described) as [{ id: number; status: string }];
    assert.equal(job.id, id);
    assert.equal(job.status, 'pending');
    const queue = new SqsJobQueue(emulators.sqs, queueUrl, silentLogger());
    const messages = await queue.receive({ maxMessages: 10, waitTimeSeconds: 1 });
    assert.deepEqual(
      messages.map((message) => message.jobId),
      [id],
    );
  });

  it("serves a finished job's stdout from S3 with GET /jobs/{id}/stdout", async () => {
    // Prepare
    const token = tokenFor('carol');
    const created = await createJob(
      buildApiEvent('POST /jobs', { token, body: JSON.stringify(buildJobSpecInput()) }),
      lambdaContext,
    );
    const { id } = jsonOf(created) as { id: number };
    const writer = new AwsLogStore({
      s3: s3.s3,
      logs: new CloudWatchLogsClient({ region: EMULATOR_REGION }),
      bucket,
      logGroupName: '/flare/jobs',
    });
    const sink = await writer.open(id, 'stdout');
    await sink.write(Buffer.from('3.14159\n'));
    await sink.close();
    const stdout = createRouteHandler({ ...env, FLARE_ROUTE: 'job-stdout' });

    // Act
    const response = await stdout(
      buildApiEvent('GET /jobs/{id}/stdout', {
        token,
        pathParameters: { id: String(id) },
        query: { offset: '2' },
      }),
      lambdaContext,
    );

    // Assess
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(textOf(response), '14159\n');
  });

  it('fetches the issuer keys at the first request, not at init, and then keeps them', async () => {
    // Prepare
    const before = jwks.requests();
    const handler = createRouteHandler(env);
    const afterInit = jwks.requests();
    const request = () =>
      handler(buildApiEvent('POST /jobs', { token: tokenFor('bob'), body: '{}' }), lambdaContext);

    // Act
    await request();
    await request();

    // Assess
    assert.equal(jwksRequestsAtInit, 0);
    assert.equal(afterInit, before);
    assert.equal(jwks.requests(), before + 1);
  });

  it('refuses with 400 a job that no Fargate size can hold', async () => {
    // Act
    const response = await createJob(
      buildApiEvent('POST /jobs', {
        token: tokenFor('alice'),
        body: JSON.stringify(buildJobSpecInput({ resources: { cpus: 32, memory: 8 } })),
      }),
      lambdaContext,
    );

    // Assess
    assert.equal(response.statusCode, 400);
    assert.match(String((jsonOf(response) as { error: unknown }).error), /cannot run the job/);
  });

  it('refuses a request without a token with 401', async () => {
    // Act
    const response = await createJob(
      buildApiEvent('POST /jobs', { body: JSON.stringify(buildJobSpecInput()) }),
      lambdaContext,
    );

    // Assess
    assert.equal(response.statusCode, 401);
  });

  it('answers the health route with 204 when DynamoDB answers', async () => {
    // Prepare
    const health = createRouteHandler({ ...env, FLARE_ROUTE: 'health' });

    // Act
    const response = await health(buildApiEvent('GET /health'), lambdaContext);

    // Assess
    assert.equal(response.statusCode, 204);
  });

  it('makes no network connection while it builds a handler', async () => {
    // Prepare
    let connections = 0;
    const listener = createTcpServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as AddressInfo;
    const endpointVariables = [
      'AWS_ENDPOINT_URL',
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_SQS',
      'AWS_ENDPOINT_URL_S3',
      'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
    ];
    const saved = endpointVariables.map((name) => process.env[name]);
    for (const name of endpointVariables) process.env[name] = `http://127.0.0.1:${port}`;
    const routeEnv = (route: string) => ({
      ...env,
      FLARE_ROUTE: route,
      FLARE_JWKS_URI: `https://127.0.0.1:${port}/jwks.json`,
    });

    // Act
    try {
      for (const route of ['create-job', 'job-stdout', 'health'])
        createRouteHandler(routeEnv(route));
      await delay(200);
    } finally {
      endpointVariables.forEach((name, index) => {
        const value = saved[index];
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      });
      await new Promise((resolve) => listener.close(resolve));
    }

    // Assess
    assert.equal(connections, 0);
  });

  it('fails at init with a message naming FLARE_ROUTE for an unknown route', () => {
    // Act and assess
    assert.throws(
      () => createRouteHandler({ ...env, FLARE_ROUTE: 'get-everything' }),
      (error: unknown) =>
        error instanceof StartupError && /FLARE_ROUTE must be one of health, /.test(error.message),
    );
  });
});
