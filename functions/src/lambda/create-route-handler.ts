import { createAwsAdapters } from '../../../adapters/aws/aws-adapters';
import type { Env } from '../../../adapters/aws/aws-env';
import { fargateLimits } from '../../../adapters/aws/fargate-sizes';
import { StartupError } from '../../../core/src/errors';
import { JobService } from '../../../core/src/jobs/job-service';
import { createLogger } from '../../../core/src/logger';
import { systemClock } from '../../../core/src/ports';
import { createTokenVerifier } from '../auth/token-verifier';
import type { ApiHandler } from '../http/api-handler';
import { ROUTES } from '../routes';
import { readAwsApiConfig } from './aws-api-config';

/**
 * The handler of the route that `env` names, with its adapters on the AWS services the env
 * names. Nothing here calls the network: clients connect, and the token issuer's keys are
 * fetched, on the first request, so a cold start costs only the module load.
 */
export function createRouteHandler(env: Env): ApiHandler {
  const config = readAwsApiConfig(env);
  const route = ROUTES.find((candidate) => candidate.name === config.routeName);
  if (route === undefined) {
    // readAwsApiConfig checked the name against ROUTES already.
    throw new StartupError(`FLARE_ROUTE names no route (got ${config.routeName})`);
  }

  const logger = createLogger('flare-api');
  logger.setLogLevel(config.logLevel);
  const { store, queue, logs } = createAwsAdapters(config, logger);
  // A job no Fargate size can hold is refused at submission, not left to fail in the worker.
  const jobs = new JobService({
    store,
    queue,
    logs,
    clock: systemClock,
    logger,
    limits: fargateLimits,
  });
  const verifier = createTokenVerifier(config.auth);
  const checks = [{ name: 'DYNAMODB', check: async () => void (await store.get(0)) }];
  return route.create({ jobs, verifier, checks, logger });
}
