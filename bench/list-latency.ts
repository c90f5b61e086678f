import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, EMULATOR_CREDENTIALS } from '../adapters/aws/clients';
import { DynamoDbJobStore } from '../adapters/aws/dynamodb-job-store';
import { BY_OWNER_INDEX } from '../adapters/aws/job-table';
import type { JobRecord } from '../core/src/job-types';
import type { RunningService } from '../local/src/local-service';
import { benchToken } from './bench-token';
import { formatSummary, progress, summarise, throughput, timeSequential } from './stats';

const SIZES = [100, 10_000] as const;
const ACTIVE_PER_USER = 3;
const REQUESTS = 200;

/**
 * `GET /jobs` for a user with 100 and with 10,000 finished jobs (and a few active ones): the
 * default list and "the last 5 finished" should not grow with the history.
 */
export async function measureListLatency(
  service: RunningService,
  dataDir: string,
): Promise<string[]> {
  const documents = createDocumentClient({
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: service.aws.dynamoDbEndpoint,
  });
  const store = new DynamoDbJobStore(documents, service.aws.tableName);
  const lines = ['List (GET /jobs)'];
  let nextId = 1_000_000;

  for (const size of SIZES) {
    const owner = `bench-list-${size}`;
    progress(`list: storing ${size} finished jobs for ${owner}`);
    const ids = Array.from({ length: size + ACTIVE_PER_USER }, () => nextId++);
    await throughput(ids.length, 8, async () => {
      const id = ids.pop() as number;
      await store.create(benchJob(id, owner, id - 1_000_000 >= size));
    });
    const token = await benchToken(dataDir, owner);
    for (const [label, query, prefix, limit] of [
      ['active (default)', '', 'A#', undefined],
      ['completed=true&num=5', '?completed=true&num=5', 'F#', 5],
    ] as const) {
      const get = async () => {
        const response = await fetch(`${service.apiUrl}/jobs${query}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`list answered ${response.status}`);
      };
      // The same index query the store makes, without the API around it: dynalite reads a
      // whole partition for a begins_with condition, DynamoDB only the matching items.
      const bare = async () => {
        await documents.send(
          new QueryCommand({
            TableName: service.aws.tableName,
            IndexName: BY_OWNER_INDEX.indexName,
            KeyConditionExpression: '#owner = :owner AND begins_with(#listKey, :prefix)',
            ExpressionAttributeNames: { '#owner': 'owner', '#listKey': 'listKey' },
            ExpressionAttributeValues: { ':owner': owner, ':prefix': prefix },
            ScanIndexForward: prefix === 'A#',
            ...(limit === undefined ? {} : { Limit: limit }),
          }),
        );
      };
      await timeSequential(20, get);
      await timeSequential(20, bare);
      const api = summarise(await timeSequential(REQUESTS, get));
      const direct = summarise(await timeSequential(REQUESTS, bare));
      const name = `${String(size).padStart(6)} finished, ${label}`;
      lines.push(`  ${name.padEnd(38)} API        ${formatSummary(api)}`);
      lines.push(`  ${''.padEnd(38)} bare Query ${formatSummary(direct)}`);
    }
  }
  documents.destroy();
  return lines;
}

function benchJob(id: number, owner: string, active: boolean): JobRecord {
  const createTime = 1_790_000_000 + id;
  return {
    id,
    owner,
    groups: [],
    status: active ? 'pending' : 'completed',
    spec: {
      name: 'calculate-pi',
      resources: { nodes: 1, cpus: 1, memory: 1, disk: 10 },
      tasks: [{ image: 'eoscprominence/testpi', runtime: 'singularity' }],
    },
    createTime,
    inQueue: active,
    attempt: active ? 0 : 1,
    ...(active
      ? {}
      : {
          startTime: createTime + 1,
          endTime: createTime + 2,
          execution: { site: 'local:bench', tasks: [{ imagePullStatus: 'cached', exitCode: 0 }] },
        }),
  };
}
