/** Defaults the reference service applies where a job description is silent. */
export const JOB_DEFAULTS = {
  walltimeMinutes: 720,
  diskGB: 10,
  workdir: '/home/user',
  home: '/home/user',
} as const;

/** The reference service's fixed status reasons; clients match on some of them. */
export const STATUS_REASONS = {
  deletedByUser: 'Job deleted by user',
  imagePullFailed: 'Container image pull failed',
  walltimeExceeded: 'Walltime limit exceeded',
  outOfMemory: 'Job used too much memory',
  noMatchingResources: 'No matching resources',
  maxTimeInQueue: 'Maximum time queued was exceeded',
  submissionFailed: 'Job submission failed',
  engineFailed: 'Unable to run the job on the container engine',
  waitingForCapacity: 'Waiting for capacity',
} as const;
