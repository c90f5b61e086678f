import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Logger } from '../../core/src/logger';
import type { ApiHandler } from '../../functions/src/http/api-handler';
import { MAX_BODY_BYTES } from '../../functions/src/http/request';
import type { HttpResponse } from '../../functions/src/http/responses';
import type { RouteDefinition } from '../../functions/src/routes';

export interface LocalRoute {
  readonly definition: RouteDefinition;
  readonly handler: ApiHandler;
}

export interface HttpServerOptions {
  readonly basePath: string;
  readonly routes: readonly LocalRoute[];
  /** Extra documents served as JSON outside the base path (the JWKS). */
  readonly documents: Readonly<Record<string, unknown>>;
  readonly logger: Logger;
}

/**
 * The local stand-in for API Gateway: turns each HTTP request into an HTTP API (payload
 * v2) event, calls the same handler Lambda would, and writes its result back.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  const matchers = options.routes.map((route) => ({
    route,
    pattern: compile(options.basePath + route.definition.path),
  }));
  const server = createServer((request, response) => {
    void serve(request, response).catch((error: unknown) => {
      options.logger.error('local http adapter failed', { error });
      send(response, json(500, { error: 'Internal server error' }));
    });
  });
  // Requests Node refuses before any handler runs (headers too large, broken framing) still
  // get a JSON error, as every other refusal does.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    const [status, text] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : [400, 'Bad Request'];
    const body = JSON.stringify({ error: `${text}: the request could not be read` });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const document = options.documents[url.pathname];
    if (method === 'GET' && document !== undefined) {
      send(response, json(200, document));
      return;
    }
    const candidates = matchers
      .map(({ route, pattern }) => ({ route, match: pattern.exec(url.pathname) }))
      .filter((candidate) => candidate.match !== null)
      .map(({ route, match }) => ({ route, params: { ...match?.groups } }));
    const matched = candidates.find((match) => match.route.definition.method === method);
    if (matched === undefined) {
      send(response, json(404, { error: `No route for ${method} ${url.pathname}` }));
      return;
    }
    const body = await readBody(request);
    if (body === 'too-large') {
      send(response, json(413, { error: `The request body exceeds ${MAX_BODY_BYTES} bytes` }));
      request.resume();
      return;
    }
    const { definition, handler } = matched.route;
    const event = toEvent(request, url, definition, matched.params, body, options.basePath);
    send(response, await handler(event, lambdaContext(definition.name)));
  }
}

/** `/jobs/{id}` to a regular expression with a named group per parameter. */
function compile(template: string): RegExp {
  const source = template
    .split('/')
    .map((part) => {
      const param = /^\{(\w+)\}$/.exec(part)?.[1];
      return param === undefined ? part.replace(/[.*+?^$()|[\]\\]/g, '\\$&') : `(?<${param}>[^/]+)`;
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

async function readBody(request: IncomingMessage): Promise<Buffer | 'too-large'> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit, so that the client gets the 413 and not a reset.
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks);
}

function toEvent(
  request: IncomingMessage,
  url: URL,
  route: RouteDefinition,
  pathParameters: Record<string, string>,
  body: Buffer,
  basePath: string,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // API Gateway joins repeated query parameters with commas.
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(pathParameters)) {
    decoded[name] = decodeParam(value);
  }
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `${route.method} ${basePath}${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(decoded).length > 0 ? { pathParameters: decoded } : {}),
    ...(body.length > 0 ? { body: body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: route.method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${route.method} ${basePath}${route.path}`,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

/**
 * API Gateway passes a malformed %-escape through as it came; decoding it here would throw,
 * so it goes on undecoded and the handler refuses it as it would any other bad value.
 */
function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function json(statusCode: number, body: unknown): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

function send(response: ServerResponse, result: HttpResponse): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const body =
    result.body === undefined
      ? undefined
      : Buffer.from(result.body, result.isBase64Encoded === true ? 'base64' : 'utf8');
  const headers: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    headers[name] = typeof value === 'boolean' ? String(value) : value;
  }
  if (body !== undefined) headers['content-length'] = body.length;
  response.writeHead(result.statusCode, headers);
  response.end(body);
}
