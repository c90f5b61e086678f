import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Identity } from '../../../core/src/job-types';
import type { Logger } from '../../../core/src/logger';
import type { TokenVerifier } from '../auth/token-verifier';
import { errorResponse } from './error-response';
import type { HttpResponse } from './responses';

export type ApiEvent = APIGatewayProxyEventV2;

interface ApiContext extends Context {
  caller?: Identity;
}

type Middleware = middy.MiddlewareObj<ApiEvent, HttpResponse, Error, ApiContext>;

export interface ApiHandlerOptions {
  readonly logger: Logger;
  /** Absent for routes that need no token (health). */
  readonly verifier?: TokenVerifier;
}

export type ApiHandler = (event: ApiEvent, context: Context) => Promise<HttpResponse>;

/**
 * Wraps a route's logic in the middleware every route shares: a correlation id on every log
 * line, token verification, and the one error-to-response mapping.
 */
export function apiHandler(
  options: ApiHandlerOptions,
  handle: (event: ApiEvent, identity: Identity) => Promise<HttpResponse>,
): ApiHandler {
  const { logger, verifier } = options;
  const wrapped = middy<ApiEvent, HttpResponse, Error, ApiContext>()
    .use(correlation(logger))
    .use(errors(logger));
  if (verifier !== undefined) {
    wrapped.use(authenticate(verifier, logger));
  }
  return wrapped.handler(async (event, context) =>
    handle(event, context.caller ?? { username: '', groups: [] }),
  ) as unknown as ApiHandler;
}

function correlation(logger: Logger): Middleware {
  return {
    before: ({ event }) => {
      logger.appendKeys({
        requestId: event.requestContext?.requestId,
        route: event.routeKey,
      });
    },
    after: () => logger.resetKeys(),
    onError: () => logger.resetKeys(),
  };
}

function authenticate(verifier: TokenVerifier, logger: Logger): Middleware {
  return {
    before: async (request) => {
      const identity = await verifier.verify(request.event.headers?.authorization);
      request.context.caller = identity;
      logger.appendKeys({ owner: identity.username });
    },
  };
}

function errors(logger: Logger): Middleware {
  return {
    onError: (request) => {
      request.response = errorResponse(request.error, logger);
    },
  };
}
