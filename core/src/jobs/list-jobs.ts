import type { JobRecord } from '../job-types';
import type { JobPartition, JobStore } from '../ports';
import { type JobDetail, type JobSummary, toJobDetail, toJobSummary } from './job-view';
import { type JobListQuery, matchesJobListQuery } from './list-query';

const PAGE_SIZE = 100;

/**
 * Runs a list query against the owner's jobs. Only the partitions the query needs are read,
 * and the finished partition stops as soon as the limit is reached, so `GET /jobs` costs the
 * same however much history the owner has. Results come in ascending id order.
 */
export async function listJobs(
  store: JobStore,
  owner: string,
  query: JobListQuery,
): Promise<(JobSummary | JobDetail)[]> {
  if (query.workflowId !== undefined) {
    // Flare has no workflows yet, so no job belongs to one.
    return [];
  }
  const jobs = query.ids !== undefined ? await byIds(store, owner, query) : [];
  if (query.ids === undefined) {
    if (query.scope !== 'finished') {
      jobs.push(...(await collect(store, owner, 'active', query)));
    }
    if (query.scope !== 'active') {
      jobs.push(...(await collect(store, owner, 'finished', query, query.finishedLimit)));
    }
  }
  // A job that finishes between the two partitions' reads is in both: keep its later state.
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const unique = [...byId.values()].sort((a, b) => a.id - b.id);
  return unique.map(query.detail ? toJobDetail : toJobSummary);
}

async function byIds(store: JobStore, owner: string, query: JobListQuery): Promise<JobRecord[]> {
  const found = await store.getMany(query.ids ?? []);
  return found.filter(
    (job) =>
      job.owner === owner &&
      matchesJobListQuery(job, query) &&
      (query.scope !== 'active' || job.inQueue),
  );
}

async function collect(
  store: JobStore,
  owner: string,
  partition: JobPartition,
  query: JobListQuery,
  limit?: number,
): Promise<JobRecord[]> {
  const kept: JobRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.pageByOwner(owner, partition, {
      // "The last N finished" reads N items, not a full page, when no filter drops any.
      pageSize: limit === undefined ? PAGE_SIZE : Math.min(PAGE_SIZE, limit),
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const job of page.jobs) {
      if (matchesJobListQuery(job, query)) {
        kept.push(job);
        if (limit !== undefined && kept.length >= limit) {
          return kept;
        }
      }
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return kept;
}
