import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ApiAnswer, busyboxJob, type FlareApi } from '../helpers/flare-api';
import { FlareProcess, issueToken } from '../helpers/flare-process';
import { TestEngine } from '../helpers/test-engine';

const ONE_MIB = 1024 * 1024;

/** An error answer: the status, and a body that is exactly `{"error": <message>}`. */
function assertError(answer: ApiAnswer, status: number, message: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.contentType, /^application\/json/);
  const body = answer.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(typeof body.error, 'string');
  assert.match(body.error as string, message);
}

/** Swaps the user in a token's payload and keeps its signature, which then no longer fits. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object;
  const forged = { ...claims, preferred_username: 'mallory' };
  return `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
}

describe('requests that the API refuses', () => {
  let engine: TestEngine | undefined;
  let flare: FlareProcess | undefined;
  let otherDataDir: string | undefined;
  let api: FlareApi;
  let token: string;

  before(async () => {
    engine = await TestEngine.start();
    flare = await FlareProcess.start({ env: engine.env });
    token = await flare.token('alice');
    api = flare.api(token);
  });

  after(async () => {
    await flare?.dispose();
    await engine?.dispose();
    if (otherDataDir !== undefined) await rm(otherDataDir, { recursive: true, force: true });
  });

  it('answers health without a token', async () => {
    // Act
    const answer = await api.request('GET', '/health', { authorization: null });

    // Assess
    assert.equal(answer.status, 204);
    assert.equal(answer.text, '');
  });

  it('refuses every job route without a token with 401', async () => {
    // Prepare
    const routes: [string, string][] = [
      ['GET', '/jobs'],
      ['POST', '/jobs'],
      ['DELETE', '/jobs?id=1'],
      ['GET', '/jobs/1'],
      ['DELETE', '/jobs/1'],
      ['GET', '/jobs/1/stdout'],
      ['GET', '/jobs/1/stderr'],
    ];

    for (const [method, path] of routes) {
      // Act
      const answer = await api.request(method, path, { authorization: null });

      // Assess
      assertError(answer, 401, /./);
    }
  });

  it('refuses tokens that are not valid with 401', async () => {
    // Prepare: one signed by another Flare's key, one altered after signing, and junk.
    otherDataDir = await mkdtemp(join(tmpdir(), 'flare-e2e-other-issuer-'));
    const foreign = await issueToken(otherDataDir, 'alice');
    const authorizations = [
      `Bearer ${foreign}`,
      `Bearer ${tamper(token)}`,
      'Bearer not-a-token',
      `Basic ${Buffer.from('alice:secret').toString('base64')}`,
      `Bearer ${token} extra`,
    ];

    for (const authorization of authorizations) {
      // Act
      const answer = await api.request('GET', '/jobs', { authorization });

      // Assess
      assertError(answer, 401, /./);
    }
    // The valid token itself is accepted, so the refusals above are about the tokens.
    assert.deepEqual(await api.list(), []);
  });

  it('refuses a body that is not JSON with 400', async () => {
    // Act
    const answer = await api.request('POST', '/jobs', {
      body: '{"name": "broken", ',
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    assertError(answer, 400, /JSON/);
  });

  it('refuses a body over 1 MiB with 413, with or without a declared length', async () => {
    // Prepare: valid JSON, so that only the size is wrong.
    const padding = 'x'.repeat(ONE_MIB);
    const body = JSON.stringify({ ...busyboxJob('big', 'true'), labels: { pad: padding } });
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = Buffer.from(body);
        for (let at = 0; at < bytes.length; at += 64 * 1024) {
          controller.enqueue(bytes.subarray(at, at + 64 * 1024));
        }
        controller.close();
      },
    });

    // Act
    const declared = await api.request('POST', '/jobs', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    const streamed = await api.request('POST', '/jobs', {
      body: chunked,
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    assertError(declared, 413, /1048576/);
    assertError(streamed, 413, /1048576/);
  });

  it('refuses an unknown field with 400 naming it', async () => {
    // Act
    const answer = await api.request('POST', '/jobs', {
      body: JSON.stringify({ ...busyboxJob('odd', 'true'), colour: 'blue' }),
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    assertError(answer, 400, /colour/);
  });

  it('refuses an unsupported feature with 400 naming it', async () => {
    // Prepare
    const job = { ...busyboxJob('with-artifacts', 'true'), artifacts: [{ url: 'data.tgz' }] };

    // Act
    const answer = await api.request('POST', '/jobs', {
      body: JSON.stringify(job),
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    assertError(answer, 400, /artifacts/);
  });

  it('refuses a job id that is not a number with 400, never 404', async () => {
    // Prepare
    const requests: [string, string][] = [
      ['GET', '/jobs/abc'],
      ['DELETE', '/jobs/abc'],
      ['GET', '/jobs/abc/stdout'],
      ['GET', '/jobs/1.5'],
      ['DELETE', '/jobs?id=1,abc'],
    ];

    for (const [method, path] of requests) {
      // Act
      const answer = await api.request(method, path);

      // Assess
      assertError(answer, 400, /./);
    }
  });

  it('refuses an unknown status filter and a bad offset with 400', async () => {
    // Act
    const status = await api.request('GET', '/jobs?status=bogus');
    const offset = await api.request('GET', '/jobs/1/stdout?offset=abc');

    // Assess
    assertError(status, 400, /status/);
    assertError(offset, 400, /offset/);
  });

  it('created no job for any refused request', async () => {
    // Act
    const jobs = await api.list('?all');

    // Assess
    assert.deepEqual(jobs, []);
  });
});
