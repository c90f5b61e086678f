import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type AwsClientOptions,
  createDocumentClient,
  createDynamoDbClient,
  createSqsClient,
  EMULATOR_CREDENTIALS,
} from '../../adapters/aws/clients';
import { ensureJobTable } from '../../adapters/aws/job-table';
import {
  EMULATOR_REGION,
  type Emulator,
  startDynamoDbEmulator,
  startSqsEmulator,
} from '../../local/src/embedded-aws';

/**
 * DynamoDB and SQS for one test file, with clients aimed at them: in-memory emulators on
 * 127.0.0.1, or the services at `AWS_ENDPOINT_URL` (LocalStack) when that is set.
 */
export interface AwsEmulators {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly dynamoDb: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** Stops the clients and the emulators this file started. */
  close(): Promise<void>;
}

/**
 * The endpoint of an AWS emulator run outside the tests, such as LocalStack, from
 * `AWS_ENDPOINT_URL`; undefined when the tests start their own.
 */
export function externalAwsEndpoint(): string | undefined {
  const endpoint = process.env.AWS_ENDPOINT_URL?.trim();
  return endpoint === undefined || endpoint === '' ? undefined : endpoint;
}

/** Options for clients aimed at an emulator at `endpoint`. */
export function emulatorClientOptions(endpoint: string): AwsClientOptions {
  const region = externalAwsEndpoint() === undefined ? undefined : process.env.AWS_REGION;
  return { region: region || EMULATOR_REGION, endpoint, credentials: EMULATOR_CREDENTIALS };
}

/**
 * Starts both emulators for one test file, or aims at `AWS_ENDPOINT_URL` when it is set; call
 * `close` in the file's `after` hook.
 */
export async function startAwsEmulators(): Promise<AwsEmulators> {
  const external = externalAwsEndpoint();
  const emulators: Emulator[] =
    external === undefined ? [await startDynamoDbEmulator(), await startSqsEmulator()] : [];
  const [dynamoDbEndpoint, sqsEndpoint] =
    external === undefined ? emulators.map((emulator) => emulator.endpoint) : [external, external];
  if (dynamoDbEndpoint === undefined || sqsEndpoint === undefined) {
    throw new Error('the AWS emulators did not start');
  }
  const dynamoDb = createDynamoDbClient(emulatorClientOptions(dynamoDbEndpoint));
  const sqs = createSqsClient(emulatorClientOptions(sqsEndpoint));
  return {
    dynamoDbEndpoint,
    sqsEndpoint,
    dynamoDb,
    documentClient: createDocumentClient(dynamoDb),
    sqs,
    close: async () => {
      dynamoDb.destroy();
      sqs.destroy();
      for (const emulator of emulators) await emulator.close();
    },
  };
}

/** A name no other test has used, so tests sharing an emulator never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates a fresh job table and returns its name. */
export async function createTestJobTable(emulators: AwsEmulators): Promise<string> {
  const tableName = uniqueName('jobs');
  await ensureJobTable(emulators.dynamoDb, tableName);
  return tableName;
}

/** Creates a fresh queue and returns its URL; a short visibility timeout speeds up redelivery. */
export async function createTestQueue(
  emulators: AwsEmulators,
  options: { readonly visibilityTimeoutSeconds?: number } = {},
): Promise<string> {
  const attributes =
    options.visibilityTimeoutSeconds === undefined
      ? {}
      : { VisibilityTimeout: String(options.visibilityTimeoutSeconds) };
  const output = await emulators.sqs.send(
    new CreateQueueCommand({ QueueName: uniqueName('jobs'), Attributes: attributes }),
  );
  if (output.QueueUrl === undefined) throw new Error('the SQS emulator returned no queue URL');
  return output.QueueUrl;
}
