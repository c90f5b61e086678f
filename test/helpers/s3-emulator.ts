import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type Emulator, startSqsEmulator } from '../../local/src/embedded-aws';
import { emulatorClientOptions, externalAwsEndpoint, uniqueName } from './aws-emulators';

/** An S3 for one test file and a client aimed at it. */
export interface S3Emulator {
  readonly endpoint: string;
  readonly s3: S3Client;
  /** Stops the client and the emulator this file started. */
  close(): Promise<void>;
}

/**
 * Starts fauxqs, which serves S3 beside SQS, on 127.0.0.1; or aims at `AWS_ENDPOINT_URL`
 * (LocalStack) when it is set. Paths name the bucket, as neither emulator resolves a bucket
 * in the host name.
 */
export async function startS3Emulator(): Promise<S3Emulator> {
  const external = externalAwsEndpoint();
  if (external !== undefined) return connect(external);
  const emulator = await startSqsEmulator();
  return connect(emulator.endpoint, emulator);
}

function connect(endpoint: string, emulator?: Emulator): S3Emulator {
  const s3 = new S3Client({ ...emulatorClientOptions(endpoint), forcePathStyle: true });
  return {
    endpoint,
    s3,
    close: async () => {
      s3.destroy();
      await emulator?.close();
    },
  };
}

/** Creates a bucket no other test uses and returns its name. */
export async function createTestBucket(emulator: S3Emulator): Promise<string> {
  const bucket = uniqueName('flare-logs');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}
