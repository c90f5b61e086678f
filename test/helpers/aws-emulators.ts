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

/** In-memory DynamoDB and SQS emulators on 127.0.0.1, with clients aimed at them. */
export interface AwsEmulators {
  readonly dynamoDb: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** Stops the clients and both emulators. */
  close(): Promise<void>;
}

/** Options for clients aimed at an emulator at `endpoint`. */
export function emulatorClientOptions(endpoint: string): AwsClientOptions {
  return { region: EMULATOR_REGION, endpoint, credentials: EMULATOR_CREDENTIALS };
}

/** Starts both emulators for one test file; call `close` in its `after` hook. */
export async function startAwsEmulators(): Promise<AwsEmulators> {
  const emulators: Emulator[] = [await startDynamoDbEmulator(), await startSqsEmulator()];
  const [dynamoDbEmulator, sqsEmulator] = emulators as [Emulator, Emulator];
  const dynamoDb = createDynamoDbClient(emulatorClientOptions(dynamoDbEmulator.endpoint));
  const sqs = createSqsClient(emulatorClientOptions(sqsEmulator.endpoint));
  return {
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
