import type { Logger } from '../../../core/src/logger';
import { type ApiHandler, apiHandler } from '../http/api-handler';
import { emptyResponse, jsonResponse } from '../http/responses';

/** One dependency the service needs, named as `/health` reports it when it fails. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface HealthHandlerDeps {
  readonly checks: readonly HealthCheck[];
  readonly logger: Logger;
}

/** GET /health: 204 when every dependency answers, else 409 {"errors": "A,B"}. */
export function healthHandler(deps: HealthHandlerDeps): ApiHandler {
  return apiHandler({ logger: deps.logger }, async () => {
    const results = await Promise.allSettled(deps.checks.map((item) => item.check()));
    const failed = deps.checks.filter((_, index) => results[index]?.status === 'rejected');
    if (failed.length === 0) {
      return emptyResponse(204);
    }
    deps.logger.warn('health check failed', { failed: failed.map((item) => item.name) });
    return jsonResponse(409, { errors: failed.map((item) => item.name).join(',') });
  });
}
