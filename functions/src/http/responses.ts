import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number };

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/** Raw bytes as UTF-8 text; base64 in transit so that no byte is altered on the way. */
export function textResponse(statusCode: number, content: Buffer): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: content.toString('base64'),
    isBase64Encoded: true,
  };
}

export function emptyResponse(statusCode: number): HttpResponse {
  return { statusCode };
}
