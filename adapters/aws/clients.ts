import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Static keys; the SDK's own credential chain is used when none are given. */
export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Where the SDK clients talk to. Everything absent falls back to the SDK's own chain. */
export interface AwsClientOptions {
  /** @default the SDK's region chain (AWS_REGION, profile, …) */
  readonly region?: string;
  /** An emulator's URL in local mode and tests. @default the service's AWS endpoint */
  readonly endpoint?: string;
  /** @default the SDK's credential chain */
  readonly credentials?: StaticCredentials;
}

/** Credentials for emulators, which check that some are given but not what they are. */
export const EMULATOR_CREDENTIALS: StaticCredentials = {
  accessKeyId: 'flare-local',
  secretAccessKey: 'flare-local',
};

export function createDynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(clientConfig(options));
}

/**
 * A document client over `client`, or over a new one made from `options`. Destroying the
 * document client destroys the client beneath it too, as they share one connection pool.
 */
export function createDocumentClient(
  from: DynamoDBClient | AwsClientOptions = {},
): DynamoDBDocumentClient {
  const client = from instanceof DynamoDBClient ? from : createDynamoDbClient(from);
  return DynamoDBDocumentClient.from(client, {
    // Optional job fields are left off an item rather than stored as NULL.
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createSqsClient(options: AwsClientOptions = {}): SQSClient {
  return new SQSClient(clientConfig(options));
}

function clientConfig(options: AwsClientOptions) {
  return {
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  };
}
