import type { ImagePullCredential, JobChanges, JobExpectation, JobRecord } from './job-types';

/** Which part of a user's jobs a list reads. */
export type JobPartition = 'active' | 'finished';

export interface JobPage {
  readonly jobs: readonly JobRecord[];
  /** Opaque; pass it back to read the next page. Absent on the last page. */
  readonly cursor?: string;
}

/**
 * Where jobs live. Every write that changes a job names the state it expects to find, so two
 * writers can never both move the same job.
 */
export interface JobStore {
  /** A new job id from the one increasing sequence. */
  allocateId(signal?: AbortSignal): Promise<number>;
  /** Stores a new job; fails if the id is taken. */
  create(job: JobRecord, signal?: AbortSignal): Promise<void>;
  get(id: number, signal?: AbortSignal): Promise<JobRecord | undefined>;
  /** The jobs among `ids` that exist, in any order. */
  getMany(ids: readonly number[], signal?: AbortSignal): Promise<JobRecord[]>;
  /**
   * One page of an owner's jobs. Active jobs come in ascending id order; finished jobs most
   * recently finished first.
   */
  pageByOwner(
    owner: string,
    partition: JobPartition,
    options: { readonly cursor?: string; readonly pageSize: number; readonly signal?: AbortSignal },
  ): Promise<JobPage>;
  /** Every job, of any owner, that is pending or running: for queue rebuilds and reconciling. */
  listUnfinished(status: 'pending' | 'running', signal?: AbortSignal): Promise<JobRecord[]>;
  /**
   * Applies `changes` if the job matches `expected`, and returns the job as written.
   * Throws StaleJobStateError when it does not match (or does not exist).
   */
  update(
    id: number,
    expected: JobExpectation,
    changes: JobChanges,
    signal?: AbortSignal,
  ): Promise<JobRecord>;
}

export interface QueuedJob {
  readonly jobId: number;
  /** Opaque handle for acknowledging the message. */
  readonly receipt: string;
}

export interface SendOptions {
  /** How long the message stays hidden before a worker can receive it. Default 0. */
  readonly delaySeconds?: number;
  readonly signal?: AbortSignal;
}

/** Carries references to pending jobs to workers; the store stays the source of truth. */
export interface JobQueue {
  send(jobId: number, options?: SendOptions): Promise<void>;
  receive(options: {
    readonly maxMessages: number;
    readonly waitTimeSeconds: number;
    readonly signal?: AbortSignal;
  }): Promise<QueuedJob[]>;
  /** Removes a handled message so it is not delivered again. */
  ack(receipt: string, signal?: AbortSignal): Promise<void>;
}

export type LogStream = 'stdout' | 'stderr';

/** Reads a job's output for the stdout and stderr endpoints. */
export interface LogReader {
  /**
   * At most `maxBytes` of the stream from `offsetBytes` on (fewer only at its current end);
   * undefined if nothing was written. Callers read on from the offset plus what they got.
   */
  read(
    job: JobRecord,
    stream: LogStream,
    offsetBytes: number,
    maxBytes: number,
  ): Promise<Buffer | undefined>;
}

export interface LogSink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** Where the worker writes a job's output. */
export interface LogWriter {
  /** The stream's current size in bytes (0 if it does not exist). */
  size(jobId: number, stream: LogStream): Promise<number>;
  /**
   * Opens the stream for appending, first cutting it back to `startAtBytes` when given, so
   * a task's output replayed after a worker restart is not written twice.
   */
  open(jobId: number, stream: LogStream, startAtBytes?: number): Promise<LogSink>;
}

/** What the engine offers, so that a job it cannot hold is refused rather than left waiting. */
export interface RunnerCapacity {
  /** Where jobs run, e.g. `local:podman` or `aws-fargate:eu-west-2`. */
  readonly site: string;
  readonly cpus: number;
  readonly memoryMiB: number;
}

export interface ImageReady {
  readonly status: 'completed' | 'cached';
  readonly pullTimeSeconds?: number;
  readonly imageSha256?: string;
}

export interface TaskLaunch {
  readonly jobId: number;
  readonly taskIndex: number;
  readonly taskAttempt: number;
  readonly image: string;
  /** The command to run; the image's own command when absent. */
  readonly command?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string;
  readonly cpus: number;
  readonly memoryMiB: number;
}

export interface TaskOutcome {
  readonly exitCode: number;
  readonly wallTimeSeconds: number;
  readonly cpuTimeSeconds?: number;
  readonly maxRssKB?: number;
  readonly oomKilled: boolean;
  /**
   * How long the image pull took, for engines that pull as part of starting the task (Fargate)
   * rather than in `prepareImage`. Recorded as the task's `imagePullTime` when present.
   */
  readonly imagePullSeconds?: number;
}

export interface TaskOutput {
  readonly stdout: LogSink;
  readonly stderr: LogSink;
}

/** A task container that the engine knows about, found when a worker takes over a job. */
export interface FoundTask {
  readonly handle: string;
  readonly taskIndex: number;
  readonly taskAttempt: number;
  readonly running: boolean;
}

/** Runs a job's tasks as containers on some engine. */
export interface TaskRunner {
  capacity(signal?: AbortSignal): Promise<RunnerCapacity>;
  /** Makes the image available; throws ImagePullError when it cannot be had. */
  prepareImage(
    image: string,
    credential: ImagePullCredential | undefined,
    signal?: AbortSignal,
  ): Promise<ImageReady>;
  /**
   * Creates and starts the task's container; returns its handle. Throws CapacityError when the
   * engine has no room for it now, after the engine's own bounded retries.
   */
  start(launch: TaskLaunch, signal?: AbortSignal): Promise<string>;
  /**
   * Copies the container's output, from its start, into `output` until it exits, and
   * returns how it ended. Aborting `signal` stops waiting but leaves the container alone.
   * Throws ImagePullError when the engine pulls the image only now and that pull failed.
   */
  wait(handle: string, output: TaskOutput, signal?: AbortSignal): Promise<TaskOutcome>;
  /** Stops the container: SIGTERM, then SIGKILL after `graceSeconds`. */
  stop(handle: string, graceSeconds: number): Promise<void>;
  /** The containers the engine has for a job. */
  findTasks(jobId: number, signal?: AbortSignal): Promise<FoundTask[]>;
  /** Removes what the job left on the engine (containers, workspace). */
  release(jobId: number): Promise<void>;
}

/** The time, injectable so tests can move it. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** Unix seconds, as the API's `events` show times. */
export function toSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
