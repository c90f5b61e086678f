import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDbJobStore } from '../../adapters/aws/dynamodb-job-store';
import { SqsJobQueue } from '../../adapters/aws/sqs-job-queue';
import { FsLogStore } from '../../adapters/local-fs/fs-log-store';
import { JobService } from '../../core/src/jobs/job-service';
import { createLogger } from '../../core/src/logger';
import { systemClock } from '../../core/src/ports';
import { createTokenVerifier } from '../../functions/src/auth/token-verifier';
import type { ApiHandler } from '../../functions/src/http/api-handler';
import { type ApiDeps, ROUTES } from '../../functions/src/routes';
import { ensureLocalIssuer, type LocalIssuer, signLocalToken } from '../../local/src/local-issuer';
import {
  buildApiEvent,
  type EventOptions,
  jsonOf,
  lambdaContext,
  textOf,
} from '../helpers/api-events';
import {
  type AwsEmulators,
  createTestJobTable,
  createTestQueue,
  startAwsEmulators,
} from '../helpers/aws-emulators';
import { buildJobSpecInput } from '../helpers/job-builders';

const claims = { usernameClaim: 'preferred_username', groupsClaim: 'groups' };

describe('API handlers against DynamoDB and SQS emulators', () => {
  let emulators: AwsEmulators;
  let dataDir: string;
  let issuer: LocalIssuer;
  let store: DynamoDbJobStore;
  let queue: SqsJobQueue;
  let logs: FsLogStore;
  let handlers: Map<string, ApiHandler>;
  let alice: string;
  let bob: string;

  before(async () => {
    emulators = await startAwsEmulators();
    dataDir = await mkdtemp(join(tmpdir(), 'flare-api-'));
    issuer = await ensureLocalIssuer(dataDir);
    const logger = createLogger('flare-test');
    store = new DynamoDbJobStore(emulators.documentClient, await createTestJobTable(emulators));
    queue = new SqsJobQueue(emulators.sqs, await createTestQueue(emulators), logger);
    logs = new FsLogStore(join(dataDir, 'logs'));
    const jobs = new JobService({ store, queue, logs, clock: systemClock, logger });
    const verifier = createTokenVerifier({
      ...claims,
      issuer: issuer.issuer,
      jwksUri: 'http://127.0.0.1:9/jwks.json',
      audience: null,
      jwks: issuer.jwks,
    });
    const deps: ApiDeps = { jobs, verifier, logger, checks: [] };
    handlers = new Map(ROUTES.map((route) => [route.name, route.create(deps)]));
    alice = tokenFor('alice');
    bob = tokenFor('bob');
  });

  after(async () => {
    await emulators.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function tokenFor(username: string, lifetimeSeconds = 3600): string {
    return signLocalToken(issuer, { ...claims, username, groups: ['physics'], lifetimeSeconds });
  }

  function call(name: string, routeKey: string, options: EventOptions = {}) {
    const handler = handlers.get(name);
    assert.ok(handler, `no route ${name}`);
    return handler(buildApiEvent(routeKey, options), lambdaContext);
  }

  async function submit(token: string, overrides = {}): Promise<number> {
    const response = await call('create-job', 'POST /jobs', {
      token,
      body: JSON.stringify(buildJobSpecInput(overrides)),
    });
    assert.equal(response.statusCode, 201, response.body);
    const { id } = jsonOf(response) as { id: unknown };
    assert.equal(typeof id, 'number');
    return id as number;
  }

  it('creates a pending job, queues it and describes it as an array', async () => {
    // Act
    const id = await submit(alice, { name: 'calculate-pi' });
    const response = await call('describe-job', 'GET /jobs/{id}', {
      token: alice,
      pathParameters: { id: String(id) },
    });

    // Assess
    const [job] = jsonOf(response) as [Record<string, unknown>];
    assert.equal(response.statusCode, 200);
    assert.equal(job.id, id);
    assert.equal(job.status, 'pending');
    assert.equal(job.name, 'calculate-pi');
    assert.equal(typeof (job.events as { createTime: unknown }).createTime, 'number');
    const messages = await queue.receive({ maxMessages: 10, waitTimeSeconds: 1 });
    assert.ok(messages.some((message) => message.jobId === id));
  });

  it('gives ids from one increasing sequence', async () => {
    // Act
    const first = await submit(alice);
    const second = await submit(bob);

    // Assess
    assert.ok(second > first);
  });

  it('refuses a request without a valid token with 401', async () => {
    // Prepare
    const stranger = signLocalToken(await ensureLocalIssuer(join(dataDir, 'other')), {
      ...claims,
      username: 'mallory',
      groups: [],
      lifetimeSeconds: 3600,
    });
    const cases: [string, string | undefined][] = [
      ['no token', undefined],
      ['not a JWT', 'opaque-token'],
      ['another issuer', stranger],
      ['expired', tokenFor('alice', -10)],
    ];

    for (const [label, token] of cases) {
      // Act
      const response = await call('list-jobs', 'GET /jobs', token === undefined ? {} : { token });

      // Assess
      assert.equal(response.statusCode, 401, label);
      assert.match((jsonOf(response) as { error: string }).error, /Authentication failure/);
    }
  });

  it('answers bad input with 400 and a JSON error', async () => {
    const cases: [string, EventOptions, RegExp][] = [
      ['invalid JSON', { body: '{"resources":' }, /not valid JSON/],
      ['empty body', {}, /must be a JSON job description/],
      [
        'unknown field',
        { body: JSON.stringify({ ...buildJobSpecInput(), x: 1 }) },
        /invalid item "x"/,
      ],
      [
        'unsupported feature',
        { body: JSON.stringify({ ...buildJobSpecInput(), artifacts: [] }) },
        /not supported yet/,
      ],
    ];
    for (const [label, options, message] of cases) {
      // Act
      const response = await call('create-job', 'POST /jobs', { token: alice, ...options });

      // Assess
      assert.equal(response.statusCode, 400, label);
      assert.match((jsonOf(response) as { error: string }).error, message, label);
    }
  });

  it('answers a body over 1 MiB with 413', async () => {
    // Act
    const response = await call('create-job', 'POST /jobs', {
      token: alice,
      body: JSON.stringify({ name: 'x'.repeat(1024 * 1024) }),
    });

    // Assess
    assert.equal(response.statusCode, 413);
  });

  it('hides the jobs of one user from another', async () => {
    // Prepare
    const id = await submit(alice);
    const path = { pathParameters: { id: String(id) } };

    // Act
    const described = await call('describe-job', 'GET /jobs/{id}', { token: bob, ...path });
    const listed = await call('list-jobs', 'GET /jobs', { token: bob, query: { all: '' } });
    const deleted = await call('delete-job', 'DELETE /jobs/{id}', { token: bob, ...path });
    const stdout = await call('job-stdout', 'GET /jobs/{id}/stdout', { token: bob, ...path });

    // Assess
    assert.deepEqual(jsonOf(described), []);
    assert.ok((jsonOf(listed) as { id: number }[]).every((job) => job.id !== id));
    assert.equal(deleted.statusCode, 400);
    assert.deepEqual(jsonOf(deleted), { error: 'No such job(s)' });
    assert.equal(stdout.statusCode, 403);
    assert.deepEqual(jsonOf(stdout), { error: 'Not authorised to access this job' });
  });

  it('deletes a queued job, which then lists as completed history', async () => {
    // Prepare
    const id = await submit(alice, { name: 'to-delete' });

    // Act
    const response = await call('delete-jobs', 'DELETE /jobs', {
      token: alice,
      query: { id: `${id},999999` },
    });
    const finished = await call('list-jobs', 'GET /jobs', {
      token: alice,
      query: { completed: 'true', num: '5', name: 'to-delete' },
    });

    // Assess
    assert.equal(response.statusCode, 200);
    assert.deepEqual(jsonOf(response), {});
    const [job] = jsonOf(finished) as [Record<string, unknown>];
    assert.equal(job.id, id);
    assert.equal(job.status, 'deleted');
    assert.equal(job.statusReason, 'Job deleted by user');
  });

  it('serves stdout bytes from an offset as text/plain', async () => {
    // Prepare
    const id = await submit(alice);
    const sink = await logs.open(id, 'stdout');
    await sink.write(Buffer.from('π = 3.14159\n'));
    await sink.close();

    // Act
    const whole = await call('job-stdout', 'GET /jobs/{id}/stdout', {
      token: alice,
      pathParameters: { id: String(id) },
    });
    const tail = await call('job-stdout', 'GET /jobs/{id}/stdout', {
      token: alice,
      pathParameters: { id: String(id) },
      query: { offset: '5' },
    });
    const stderr = await call('job-stderr', 'GET /jobs/{id}/stderr', {
      token: alice,
      pathParameters: { id: String(id) },
    });

    // Assess
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.headers?.['content-type'], 'text/plain; charset=utf-8');
    assert.equal(textOf(whole), 'π = 3.14159\n');
    assert.equal(textOf(tail), '3.14159\n');
    assert.equal(stderr.statusCode, 200);
    assert.equal(textOf(stderr), '');
  });

  it('refuses malformed ids and parameters with 400', async () => {
    const cases: [string, string, EventOptions][] = [
      ['describe-job', 'GET /jobs/{id}', { pathParameters: { id: 'abc' } }],
      ['delete-jobs', 'DELETE /jobs', {}],
      ['delete-jobs', 'DELETE /jobs', { query: { id: '1,x' } }],
      ['list-jobs', 'GET /jobs', { query: { status: 'bogus' } }],
      ['list-jobs', 'GET /jobs', { query: { constraint: 'novalue' } }],
      [
        'job-stdout',
        'GET /jobs/{id}/stdout',
        { pathParameters: { id: '1' }, query: { offset: '-1' } },
      ],
    ];
    for (const [name, routeKey, options] of cases) {
      // Act
      const response = await call(name, routeKey, { token: alice, ...options });

      // Assess
      assert.equal(response.statusCode, 400, `${routeKey} ${JSON.stringify(options)}`);
      assert.equal(typeof (jsonOf(response) as { error: unknown }).error, 'string');
    }
  });

  it('reports health with 204 without a token', async () => {
    // Act
    const response = await call('health', 'GET /health');

    // Assess
    assert.equal(response.statusCode, 204);
  });
});
