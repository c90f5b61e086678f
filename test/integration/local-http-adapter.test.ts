import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createLogger } from '../../core/src/logger';
import { jsonResponse, textResponse } from '../../functions/src/http/responses';
import type { RouteDefinition } from '../../functions/src/routes';
import { createHttpServer } from '../../local/src/http-server';

describe('local HTTP adapter', () => {
  const seen: APIGatewayProxyEventV2[] = [];
  let server: Server;
  let base: string;

  before(async () => {
    const route = (method: RouteDefinition['method'], path: string): RouteDefinition => ({
      name: `${method} ${path}`,
      method,
      path,
      create: () => async () => jsonResponse(200, {}),
    });
    server = createHttpServer({
      basePath: '/api/v1',
      documents: { '/.well-known/jwks.json': { keys: [] } },
      logger: createLogger('flare-test'),
      routes: [
        {
          definition: route('POST', '/jobs'),
          handler: async (event) => {
            seen.push(event);
            return jsonResponse(201, { id: 7 });
          },
        },
        {
          definition: route('GET', '/jobs/{id}/stdout'),
          handler: async (event) => {
            seen.push(event);
            return textResponse(200, Buffer.from([0xcf, 0x80, 0x0a]));
          },
        },
      ],
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('turns a request into an HTTP API v2 event for the matching route', async () => {
    // Act
    const response = await fetch(`${base}/api/v1/jobs?constraint=a=1&constraint=b=2`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });

    // Assess
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { id: 7 });
    const event = seen.at(-1);
    assert.equal(event?.version, '2.0');
    assert.equal(event?.routeKey, 'POST /api/v1/jobs');
    assert.equal(event?.headers.authorization, 'Bearer t');
    assert.equal(event?.queryStringParameters?.constraint, 'a=1,b=2');
    assert.equal(Buffer.from(event?.body ?? '', 'base64').toString(), '{"name":"x"}');
  });

  it('passes path parameters and returns text bytes unchanged', async () => {
    // Act
    const response = await fetch(`${base}/api/v1/jobs/42/stdout?offset=3`);

    // Assess
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), Buffer.from([0xcf, 0x80, 0x0a]));
    assert.deepEqual(seen.at(-1)?.pathParameters, { id: '42' });
  });

  it('answers unknown routes, trailing slashes and wrong methods with a JSON 404', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/nothing'],
      ['POST', '/api/v1/jobs/'],
      ['DELETE', '/api/v1/jobs/1/stdout'],
    ] as const) {
      // Act
      const response = await fetch(`${base}${path}`, { method });

      // Assess
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.match(((await response.json()) as { error: string }).error, /No route/);
    }
  });

  it('refuses a body over 1 MiB with 413, declared or streamed', async () => {
    // Prepare
    const large = 'x'.repeat(1024 * 1024 + 1);
    const streamed = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(large));
        controller.close();
      },
    });

    // Act
    const declared = await fetch(`${base}/api/v1/jobs`, { method: 'POST', body: large });
    const chunked = await fetch(`${base}/api/v1/jobs`, {
      method: 'POST',
      body: streamed,
      duplex: 'half',
    } as RequestInit);

    // Assess
    assert.equal(declared.status, 413);
    assert.equal(chunked.status, 413);
    assert.match(((await chunked.json()) as { error: string }).error, /exceeds/);
  });

  it('passes a malformed %-escape on undecoded rather than failing', async () => {
    // Act
    const response = await fetch(`${base}/api/v1/jobs/%ZZ/stdout`);

    // Assess
    assert.equal(response.status, 200);
    assert.deepEqual(seen.at(-1)?.pathParameters, { id: '%ZZ' });
  });

  it('answers headers too large to read with a JSON 431', async () => {
    // Act
    const response = await fetch(`${base}/api/v1/jobs`, {
      headers: { authorization: `Bearer ${'x'.repeat(64 * 1024)}` },
    });

    // Assess
    assert.equal(response.status, 431);
    assert.match(((await response.json()) as { error: string }).error, /could not be read/);
  });

  it('serves the JWKS document outside the base path', async () => {
    // Act
    const response = await fetch(`${base}/.well-known/jwks.json`);

    // Assess
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { keys: [] });
  });
});
