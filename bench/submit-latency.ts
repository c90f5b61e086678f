import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  createDocumentClient,
  createSqsClient,
  EMULATOR_CREDENTIALS,
} from '../adapters/aws/clients';
import type { RunningService } from '../local/src/local-service';
import { benchToken } from './bench-token';
import { formatSummary, progress, summarise, throughput, timeSequential } from './stats';

const SEQUENTIAL = 500;
const CONCURRENT = 1000;
const CONCURRENCY = 8;

const JOB = {
  resources: { memory: 1, cpus: 1, nodes: 1, disk: 10 },
  name: 'calculate-pi',
  tasks: [{ image: 'eoscprominence/testpi', runtime: 'singularity' }],
};

/**
 * Submit latency through the local API beside the bare AWS calls a submit makes: the id
 * counter update, the conditional put of the job, and the queue message.
 */
export async function measureSubmitLatency(
  service: RunningService,
  dataDir: string,
): Promise<string[]> {
  const token = await benchToken(dataDir, 'bench-submit');
  const body = JSON.stringify(JOB);
  const submit = async () => {
    const response = await fetch(`${service.apiUrl}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`submit answered ${response.status}`);
  };

  const options = { region: 'us-east-1', credentials: EMULATOR_CREDENTIALS };
  const documents = createDocumentClient({ ...options, endpoint: service.aws.dynamoDbEndpoint });
  const sqs = createSqsClient({ ...options, endpoint: service.aws.sqsEndpoint });
  const { tableName, queueUrl } = service.aws;
  const bare = async () => {
    const counter = await documents.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'COUNTER#bench' },
        UpdateExpression: 'ADD #value :one',
        ExpressionAttributeNames: { '#value': 'value' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const id = Number(counter.Attributes?.value);
    await documents.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: `BENCH#${id}`, id, owner: 'bench-bare', spec: body, status: 'pending' },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `{"jobId":${id}}` }));
  };

  progress('submit: warming up');
  await timeSequential(50, submit);
  await timeSequential(50, bare);
  progress(`submit: ${SEQUENTIAL} sequential submits through the API`);
  const api = summarise(await timeSequential(SEQUENTIAL, submit));
  progress(`submit: ${SEQUENTIAL} sequential bare calls`);
  const direct = summarise(await timeSequential(SEQUENTIAL, bare));
  progress(`submit: ${CONCURRENT} submits, ${CONCURRENCY} at a time`);
  const apiRate = await throughput(CONCURRENT, CONCURRENCY, submit);
  const directRate = await throughput(CONCURRENT, CONCURRENCY, bare);
  documents.destroy();
  sqs.destroy();

  return [
    'Submit (POST /jobs, testpi.json)',
    `  through the local API:       ${formatSummary(api)}, ${apiRate.toFixed(0)} jobs/s`,
    `  bare counter+put+send:       ${formatSummary(direct)}, ${directRate.toFixed(0)} jobs/s`,
    `  ratio API / bare:            p50 ${(api.p50Ms / direct.p50Ms).toFixed(2)}x, ` +
      `p99 ${(api.p99Ms / direct.p99Ms).toFixed(2)}x, ` +
      `throughput ${(directRate / apiRate).toFixed(2)}x`,
  ];
}
