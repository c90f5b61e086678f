import {
  AuthenticationError,
  InvalidTransitionError,
  JobNotFoundError,
  JobStateError,
  NotAuthorisedError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  StaleJobStateError,
  ValidationError,
} from '../../../core/src/errors';
import type { Logger } from '../../../core/src/logger';
import { type HttpResponse, jsonResponse } from './responses';

/**
 * The one mapping from error kinds to HTTP answers. Missing jobs are 400, never 404: the
 * official client reads a 404 as a wrong service URL. Messages of 5xx answers say nothing
 * about internals.
 */
const STATUS_BY_KIND: readonly [new (...args: never[]) => Error, number][] = [
  [ValidationError, 400],
  [JobNotFoundError, 400],
  [JobStateError, 400],
  [InvalidTransitionError, 400],
  [AuthenticationError, 401],
  [NotAuthorisedError, 403],
  [StaleJobStateError, 409],
  [PayloadTooLargeError, 413],
  [ServiceUnavailableError, 503],
];

export function errorResponse(error: unknown, logger: Logger): HttpResponse {
  const match = STATUS_BY_KIND.find(([kind]) => error instanceof kind);
  if (match === undefined) {
    logger.error('request failed', { error });
    return jsonResponse(500, { error: 'Internal server error' });
  }
  const [, statusCode] = match;
  const message = (error as Error).message;
  if (statusCode >= 500) {
    logger.error('request failed', { error });
  } else {
    logger.info('request refused', { statusCode, reason: message });
  }
  return jsonResponse(statusCode, { error: message });
}
