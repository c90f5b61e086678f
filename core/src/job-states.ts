import { InvalidTransitionError } from './errors';

/** Every state a job can be in, in the order a job normally passes through them. */
export const JOB_STATES = [
  'pending',
  'running',
  'completed',
  'failed',
  'killed',
  'deleted',
] as const;

export type JobStatus = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<JobStatus> = new Set([
  'completed',
  'failed',
  'killed',
  'deleted',
]);

/**
 * The allowed moves. `running -> pending` is a job-level retry or an eviction; every terminal
 * state is final.
 */
const NEXT_STATES: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['running', 'failed', 'deleted'],
  running: ['pending', 'completed', 'failed', 'killed', 'deleted'],
  completed: [],
  failed: [],
  killed: [],
  deleted: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return NEXT_STATES[from].includes(to);
}

export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) {
    throw new InvalidTransitionError(`A job cannot move from ${from} to ${to}`);
  }
}

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATES.has(status);
}

export function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATES as readonly string[]).includes(value);
}
