import {
  JobNotFoundError,
  JobStateError,
  NotAuthorisedError,
  ServiceUnavailableError,
  StaleJobStateError,
} from '../errors';
import { assertWithinLimits, type RunnerLimits } from '../execution/runner-limits';
import { isTerminal } from '../job-states';
import type { Identity, JobRecord } from '../job-types';
import type { Logger } from '../logger';
import {
  type Clock,
  type JobQueue,
  type JobStore,
  type LogReader,
  type LogStream,
  toSeconds,
} from '../ports';
import { validateJobSpec } from '../validation';
import { STATUS_REASONS } from './defaults';
import { type JobDetail, type JobSummary, toJobDetail } from './job-view';
import { listJobs } from './list-jobs';
import { type JobListQuery, parseJobListQuery, type QueryParams } from './list-query';

export interface JobServiceDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly logs: LogReader;
  readonly clock: Clock;
  readonly logger: Logger;
  /** What the engine can never run; absent where that is not known up front (local mode). */
  readonly limits?: RunnerLimits;
}

/** How often a delete retries when the job changed under it. */
const DELETE_ATTEMPTS = 3;

/**
 * The most one log read returns, in every mode. A Lambda function's response can carry 6 MB,
 * and the log goes out base64-encoded, which adds a third: 4 MiB becomes 5.6 MB, leaving room
 * for the headers. Clients read on with `offset`, as the PROMINENCE CLI's `--tail` does.
 */
export const LOG_READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The jobs API's behaviour, independent of how requests arrive (Lambda, local HTTP) and of
 * where jobs are kept (the ports).
 */
export class JobService {
  readonly #deps: JobServiceDeps;

  constructor(deps: JobServiceDeps) {
    this.#deps = deps;
  }

  async submit(identity: Identity, description: unknown): Promise<number> {
    const { store, queue, clock, logger } = this.#deps;
    const spec = validateJobSpec(description);
    if (this.#deps.limits !== undefined) {
      assertWithinLimits(spec.resources, this.#deps.limits);
    }
    const id = await store.allocateId();
    const job: JobRecord = {
      id,
      owner: identity.username,
      groups: identity.groups,
      status: 'pending',
      spec,
      createTime: toSeconds(clock.nowMs()),
      inQueue: true,
      attempt: 0,
    };
    await store.create(job);

    try {
      await queue.send(id);
    } catch (error) {
      // The job must not sit pending with nothing to run it: it fails visibly instead.
      logger.error('job enqueue failed', { jobId: id, owner: job.owner, error });
      await this.#failUnqueuedJob(job);
      throw new ServiceUnavailableError('The job could not be queued; try again', {
        cause: error,
      });
    }
    logger.info('job submitted', { jobId: id, owner: job.owner, tasks: spec.tasks.length });
    return id;
  }

  /** The caller's job as a one-element list, or an empty list: never an error for a miss. */
  async describe(identity: Identity, id: number): Promise<JobDetail[]> {
    const job = await this.#deps.store.get(id);
    return job !== undefined && job.owner === identity.username ? [toJobDetail(job)] : [];
  }

  async list(identity: Identity, params: QueryParams): Promise<(JobSummary | JobDetail)[]> {
    const query: JobListQuery = parseJobListQuery(params);
    return listJobs(this.#deps.store, identity.username, query);
  }

  /**
   * Deletes the caller's jobs among `ids`: queued ones are cancelled, running ones are marked
   * deleted and their worker stops them. Succeeds if at least one job matched.
   */
  async delete(identity: Identity, ids: readonly number[]): Promise<void> {
    // A repeated id would race itself: the loser sees the job deleted and, under leaveInQueue,
    // would take it out of the active list as if it were a finished job.
    const unique = [...new Set(ids)];
    const results = await Promise.all(unique.map((id) => this.#deleteOne(identity, id)));
    if (!results.includes(true)) {
      throw new JobNotFoundError('No such job(s)');
    }
  }

  /** Takes a finished job kept by `leaveInQueue` out of the active list. */
  async remove(identity: Identity, id: number): Promise<void> {
    const job = await this.#ownedJob(identity, id);
    if (!job.inQueue) {
      throw new JobStateError('Job is no longer in the queue');
    }
    if (!isTerminal(job.status)) {
      throw new JobStateError('Job is still active: delete it instead');
    }
    await this.#deps.store.update(
      id,
      { status: job.status },
      { inQueue: false, endTime: job.endTime ?? toSeconds(this.#deps.clock.nowMs()) },
    );
  }

  async readLog(
    identity: Identity,
    id: number,
    stream: LogStream,
    options: { readonly offsetBytes: number; readonly node: number },
  ): Promise<Buffer> {
    const job = await this.#ownedJob(identity, id);
    if (options.node !== 0) {
      throw new JobNotFoundError(`${stream} does not exist for node ${options.node}`);
    }
    const content = await this.#deps.logs.read(
      job,
      stream,
      options.offsetBytes,
      LOG_READ_MAX_BYTES,
    );
    return content ?? Buffer.alloc(0);
  }

  async #ownedJob(identity: Identity, id: number): Promise<JobRecord> {
    const job = await this.#deps.store.get(id);
    if (job === undefined) {
      throw new JobNotFoundError('Job does not exist');
    }
    if (job.owner !== identity.username) {
      throw new NotAuthorisedError('Not authorised to access this job');
    }
    return job;
  }

  async #deleteOne(identity: Identity, id: number): Promise<boolean> {
    const { store, clock, logger } = this.#deps;
    for (let attempt = 1; attempt <= DELETE_ATTEMPTS; attempt += 1) {
      const job = await store.get(id);
      if (job === undefined || job.owner !== identity.username) {
        return false;
      }
      const endTime = toSeconds(clock.nowMs());
      try {
        if (!isTerminal(job.status)) {
          await store.update(
            id,
            { status: job.status },
            {
              status: 'deleted',
              statusReason: STATUS_REASONS.deletedByUser,
              endTime,
              inQueue: job.spec.policies?.leaveInQueue === true,
            },
          );
          logger.info('job deleted', { jobId: id, owner: job.owner, from: job.status });
          return true;
        }
        if (job.inQueue) {
          await store.update(
            id,
            { status: job.status },
            { inQueue: false, endTime: job.endTime ?? endTime },
          );
          return true;
        }
        return false;
      } catch (error) {
        if (!(error instanceof StaleJobStateError)) {
          throw error;
        }
      }
    }
    throw new ServiceUnavailableError(`Job ${id} kept changing; try the delete again`);
  }

  async #failUnqueuedJob(job: JobRecord): Promise<void> {
    try {
      await this.#deps.store.update(
        job.id,
        { status: 'pending' },
        {
          status: 'failed',
          statusReason: STATUS_REASONS.submissionFailed,
          endTime: toSeconds(this.#deps.clock.nowMs()),
          inQueue: false,
        },
      );
    } catch (error) {
      this.#deps.logger.error('failing unqueued job failed', { jobId: job.id, error });
    }
  }
}
