import type { JobStatus } from './job-states';

/** Who is making a request, as the verified token says. */
export interface Identity {
  readonly username: string;
  readonly groups: readonly string[];
}

export const TASK_RUNTIMES = ['singularity', 'udocker', 'docker'] as const;
export type TaskRuntime = (typeof TASK_RUNTIMES)[number];

export const TASK_TYPES = ['basic', 'openmpi', 'mpich', 'intelmpi', 'sidecar'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export interface ImagePullCredential {
  readonly username: string;
  readonly token: string;
}

/** One task of a job description, as submitted (with `runtime` defaulted). */
export interface TaskSpec {
  readonly image: string;
  readonly runtime: TaskRuntime;
  readonly cmd?: string;
  readonly env?: Readonly<Record<string, string | number | boolean>>;
  readonly workdir?: string;
  readonly type?: TaskType;
  readonly procsPerNode?: number;
  readonly imagePullCredential?: ImagePullCredential;
  readonly imageSha256?: string;
}

export interface ResourcesSpec {
  readonly nodes?: number;
  readonly cpus?: number;
  readonly cpusRange?: readonly [number, number];
  readonly cpusOptions?: readonly [number, number];
  readonly memory?: number;
  readonly memoryPerCpu?: number;
  readonly disk?: number;
  readonly walltime?: number;
}

export interface PlacementSpec {
  readonly requirements?: {
    readonly sites?: readonly string[];
    readonly regions?: readonly string[];
  };
  readonly preferences?: {
    readonly sites?: readonly string[];
    readonly regions?: readonly string[];
  };
}

export interface PoliciesSpec {
  readonly maximumRetries?: number;
  readonly maximumTaskRetries?: number;
  readonly maximumTimeInQueue?: number;
  readonly maximumIdleTimePerResource?: number;
  readonly leaveInQueue?: boolean;
  readonly placement?: PlacementSpec;
  readonly priority?: number;
  readonly autoScalingType?: 'none' | 'dedicated' | 'shared' | null;
  readonly ignoreTaskFailures?: boolean;
  readonly reportJobSuccessOnTaskFailure?: boolean;
  readonly runSerialTasksOnAllNodes?: boolean;
  readonly preemptible?: unknown;
}

/**
 * A validated job description: the JSON the user submitted, with the defaults the reference
 * service writes into it (`resources.nodes`, `tasks[].runtime`). Describe returns it as is.
 */
export interface JobSpec {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly resources: ResourcesSpec;
  readonly tasks: readonly TaskSpec[];
  readonly policies?: PoliciesSpec;
}

export const IMAGE_PULL_STATUSES = ['completed', 'cached', 'failed'] as const;
export type ImagePullStatus = (typeof IMAGE_PULL_STATUSES)[number];

/** What the worker learnt about one task's run; the API shows it under `execution.tasks`. */
export interface TaskExecution {
  imagePullStatus: ImagePullStatus;
  imagePullTime?: number;
  imageSha256?: string;
  exitCode?: number;
  wallTimeUsage?: number;
  cpuTimeUsage?: number;
  maxResidentSetSizeKB?: number;
  retries?: number;
}

export interface ProvisionedResources {
  readonly cpus: number;
  readonly memory: number;
  readonly disk: number;
  readonly nodes: number;
}

/** The worker's facts about the job's run(s); the API shows it as `execution`. */
export interface JobExecution {
  site?: string;
  provisionedResources?: ProvisionedResources;
  maxMemoryUsageKB?: number;
  retries?: number;
  tasks: TaskExecution[];
}

/** Where a worker is in a job's run, kept so that another worker can pick it up. */
export interface RunState {
  readonly taskIndex: number;
  readonly taskAttempt: number;
  /** The runner's handle for the task's container, once it was started. */
  readonly handle?: string;
  /**
   * When the container with `handle` was started, in unix ms: a worker that resumes the
   * attempt counts the time since against the walltime.
   */
  readonly startedAtMs?: number;
  /** Walltime already spent by earlier tasks, in ms (image pulls excluded). */
  readonly walltimeUsedMs: number;
  /** Where the task's output starts in the job's streams, in bytes. */
  readonly stdoutStartBytes: number;
  readonly stderrStartBytes: number;
}

export interface WorkerLease {
  readonly workerId: string;
  /** Unix ms after which another worker may take the job over. */
  readonly expiresAtMs: number;
}

/** A job as the store keeps it. Times are unix seconds unless the name says otherwise. */
export interface JobRecord {
  readonly id: number;
  readonly owner: string;
  readonly groups: readonly string[];
  readonly status: JobStatus;
  readonly statusReason?: string;
  readonly spec: JobSpec;
  readonly createTime: number;
  /** When a job-level retry put the job back in the queue; createTime until then. */
  readonly queuedTime?: number;
  readonly startTime?: number;
  readonly endTime?: number;
  /** Whether the job is in the active list (`GET /jobs` without `completed`). */
  readonly inQueue: boolean;
  /** How many times a worker has started the job. */
  readonly attempt: number;
  readonly execution?: JobExecution;
  readonly lease?: WorkerLease;
  readonly runState?: RunState;
}

/** Fields a store update may set; `undefined` is never written. */
export interface JobChanges {
  readonly status?: JobStatus;
  readonly statusReason?: string;
  readonly startTime?: number;
  readonly queuedTime?: number;
  /** Setting `inQueue: false` requires `endTime` in the same change or already on the job. */
  readonly endTime?: number;
  readonly inQueue?: boolean;
  readonly attempt?: number;
  readonly execution?: JobExecution;
  readonly lease?: WorkerLease;
  readonly runState?: RunState;
  /** Fields to remove. */
  readonly clear?: readonly ('statusReason' | 'lease' | 'runState')[];
}

/** What a store update requires of the job as it is now. */
export interface JobExpectation {
  readonly status: JobStatus;
  /** Also require this worker to hold the lease. */
  readonly workerId?: string;
}
