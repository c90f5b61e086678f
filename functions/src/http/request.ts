import { PayloadTooLargeError, ValidationError } from '../../../core/src/errors';
import type { ApiEvent } from './api-handler';

/** The largest request body the API accepts, as the reference service (1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The request body parsed as JSON. */
export function jsonBody(event: ApiEvent): unknown {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`The request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  if (bytes.length === 0) {
    throw new ValidationError('The request body must be a JSON job description');
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ValidationError('The request body is not valid JSON');
  }
}

/** A non-negative integer query parameter, or its default. */
export function integerParam(event: ApiEvent, name: string, fallback: number): number {
  const raw = event.queryStringParameters?.[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  if (!/^[0-9]{1,15}$/.test(raw)) {
    throw new ValidationError(`${name} must be a non-negative integer`);
  }
  return Number(raw);
}

export function pathParam(event: ApiEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined) {
    throw new ValidationError(`The path has no ${name}`);
  }
  return value;
}
