import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { HttpResponse } from '../../functions/src/http/responses';

export interface EventOptions {
  readonly token?: string;
  readonly body?: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly pathParameters?: Readonly<Record<string, string>>;
}

/** An HTTP API (payload v2) event as API Gateway sends it to a route's Lambda function. */
export function buildApiEvent(
  routeKey: string,
  options: EventOptions = {},
): APIGatewayProxyEventV2 {
  const [method = 'GET', path = '/'] = routeKey.split(' ');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    ...(options.query === undefined ? {} : { queryStringParameters: { ...options.query } }),
    ...(options.pathParameters === undefined
      ? {}
      : { pathParameters: { ...options.pathParameters } }),
    ...(options.body === undefined ? {} : { body: options.body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'request-1',
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

export const lambdaContext = { functionName: 'test', awsRequestId: 'request-1' } as Context;

/** The response body parsed as JSON. */
export function jsonOf(response: HttpResponse): unknown {
  return JSON.parse(response.body ?? 'null');
}

/** The response body as text, decoding base64 as API Gateway would. */
export function textOf(response: HttpResponse): string {
  const body = response.body ?? '';
  return response.isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body;
}
