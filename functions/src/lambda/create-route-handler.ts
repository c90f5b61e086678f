import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { S3Client } from '@aws-sdk/client-s3';
import { AwsLogStore } from '../../../adapters/aws/aws-log-store';
import { createDocumentClient, createSqsClient } from '../../../adapters/aws/clients';
import { DynamoDbJobStore } from '../../../adapters/aws/dynamodb-job-store';
import { fargateLimits } from '../../../adapters/aws/fargate-sizes';
import { SqsJobQueue } from '../../../adapters/aws/sqs-job-queue';
import { StartupError } from '../../../core/src/errors';
import { JobService } from '../../../core/src/jobs/job-service';
import { createLogger } from '../../../core/src/logger';
import { systemClock } from '../../../core/src/ports';
import { createTokenVerifier } from '../auth/token-verifier';
import type { ApiHandler } from '../http/api-handler';
import { ROUTES } from '../routes';
import { readAwsApiConfig } from './aws-api-config';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The handler of the route that `env` names, with its adapters on the AWS services the env
 * names. Nothing here calls the network: clients connect, and the token issuer's keys are
 * fetched, on the first request, so a cold start costs only the module load. Credentials and
 * endpoints come from the SDK's own chain (the function's role; `AWS_ENDPOINT_URL_*` in tests).
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
  const clientOptions = { region: config.region };
  const store = new DynamoDbJobStore(createDocumentClient(clientOptions), config.tableName);
  const queue = new SqsJobQueue(createSqsClient(clientOptions), config.queueUrl, logger);
  const logs = new AwsLogStore({
    s3: new S3Client(clientOptions),
    logs: new CloudWatchLogsClient(clientOptions),
    bucket: config.logBucket,
    logGroupName: config.jobLogGroupName,
    logger,
  });
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
