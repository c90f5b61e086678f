import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../../core/src/logger';
import type { AwsResourcesConfig } from './aws-env';
import { AwsLogStore } from './aws-log-store';
import { createDocumentClient, createSqsClient } from './clients';
import { DynamoDbJobStore } from './dynamodb-job-store';
import { SqsJobQueue } from './sqs-job-queue';

/** The store, queue and log store on the AWS resources both the functions and worker use. */
export interface AwsAdapters {
  readonly store: DynamoDbJobStore;
  readonly queue: SqsJobQueue;
  readonly logs: AwsLogStore;
  /** Shared with the Fargate runner, which copies task output from CloudWatch Logs. */
  readonly cloudWatchLogs: CloudWatchLogsClient;
}

/**
 * Credentials and endpoints come from the SDK's own chain (the function's or task's role;
 * `AWS_ENDPOINT_URL_*` in tests). Nothing here calls the network.
 */
export function createAwsAdapters(config: AwsResourcesConfig, logger: Logger): AwsAdapters {
  const clientOptions = { region: config.region };
  const cloudWatchLogs = new CloudWatchLogsClient(clientOptions);
  return {
    store: new DynamoDbJobStore(createDocumentClient(clientOptions), config.tableName),
    queue: new SqsJobQueue(createSqsClient(clientOptions), config.queueUrl, logger),
    logs: new AwsLogStore({
      s3: new S3Client(clientOptions),
      logs: cloudWatchLogs,
      bucket: config.logBucket,
      logGroupName: config.jobLogGroupName,
      logger,
    }),
    cloudWatchLogs,
  };
}
