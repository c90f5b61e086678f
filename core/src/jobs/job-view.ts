import type { JobRecord, TaskSpec } from '../job-types';

/** The `events` object: unix integer seconds, each only once it happened. */
export interface JobEvents {
  createTime: number;
  startTime?: number;
  endTime?: number;
}

/** A job as `GET /jobs` shows it. */
export interface JobSummary {
  id: number;
  status: string;
  tasks: TaskSpec[];
  name: string;
  statusReason?: string;
  events: JobEvents;
}

/** A job as `GET /jobs/{id}` and `GET /jobs?detail` show it. */
export interface JobDetail extends JobSummary {
  resources: JobRecord['spec']['resources'];
  labels?: Readonly<Record<string, string>>;
  policies?: JobRecord['spec']['policies'];
  execution?: Record<string, unknown>;
}

const REDACTED = '***';

export function toJobSummary(job: JobRecord): JobSummary {
  const summary: JobSummary = {
    id: job.id,
    status: job.status,
    tasks: job.spec.tasks.map(redactTask),
    name: job.spec.name,
    events: toEvents(job),
  };
  if (job.statusReason !== undefined) {
    summary.statusReason = job.statusReason;
  }
  return summary;
}

export function toJobDetail(job: JobRecord): JobDetail {
  const detail: JobDetail = { ...toJobSummary(job), resources: job.spec.resources };
  if (job.spec.labels !== undefined) {
    detail.labels = job.spec.labels;
  }
  if (job.spec.policies !== undefined) {
    detail.policies = job.spec.policies;
  }
  // Spec §5.2: detail always carries `execution`, if only as `{"runtimeVersion": {}}`.
  detail.execution = toExecution(job);
  return detail;
}

function toEvents(job: JobRecord): JobEvents {
  const events: JobEvents = { createTime: job.createTime };
  if (job.startTime !== undefined) {
    events.startTime = job.startTime;
  }
  if (job.endTime !== undefined) {
    events.endTime = job.endTime;
  }
  return events;
}

/** Registry tokens go back to their owner only as a placeholder, like storage credentials. */
function redactTask(task: TaskSpec): TaskSpec {
  if (task.imagePullCredential === undefined) {
    return task;
  }
  return { ...task, imagePullCredential: { ...task.imagePullCredential, token: REDACTED } };
}

function toExecution(job: JobRecord): Record<string, unknown> {
  const { site, provisionedResources, maxMemoryUsageKB, retries, tasks } = job.execution ?? {
    tasks: [],
  };
  // No task runtime's version applies: every task runs as an OCI container (spec decision 5).
  const execution: Record<string, unknown> = { runtimeVersion: {} };
  if (site !== undefined) execution.site = site;
  if (provisionedResources !== undefined) execution.provisionedResources = provisionedResources;
  if (maxMemoryUsageKB !== undefined) execution.maxMemoryUsageKB = maxMemoryUsageKB;
  if (retries !== undefined && retries > 0) execution.retries = retries;
  if (tasks.length > 0) execution.tasks = tasks;
  return execution;
}
