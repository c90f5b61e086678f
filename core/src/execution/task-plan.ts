import type { JobRecord, ProvisionedResources, ResourcesSpec, TaskSpec } from '../job-types';
import { JOB_DEFAULTS } from '../jobs/defaults';
import type { RunnerCapacity, TaskLaunch } from '../ports';

/** What a job gets from the engine, or why the engine cannot hold it. */
export type ResourcePlan =
  | { readonly fits: true; readonly provisioned: ProvisionedResources; readonly memoryMiB: number }
  | { readonly fits: false; readonly reason: string };

const MIB_PER_GB = 1024;

/**
 * Picks the job's cores and memory within what the engine offers: `cpusRange` takes the
 * largest size that fits, `cpusOptions` the preferred (second) size if it fits, else the
 * first.
 */
export function planResources(job: JobRecord, capacity: RunnerCapacity): ResourcePlan {
  const { resources } = job.spec;
  const cpus = pickCpus(resources, capacity.cpus);
  if (cpus === undefined) {
    return { fits: false, reason: `the engine has ${capacity.cpus} cores` };
  }
  const memoryGB = memoryGBFor(resources, cpus);
  const memoryMiB = Math.ceil(memoryGB * MIB_PER_GB);
  if (memoryMiB > capacity.memoryMiB) {
    return { fits: false, reason: `the engine has ${capacity.memoryMiB} MiB of memory` };
  }
  return {
    fits: true,
    memoryMiB,
    provisioned: {
      cpus,
      memory: memoryGB,
      disk: resources.disk ?? JOB_DEFAULTS.diskGB,
      nodes: resources.nodes ?? 1,
    },
  };
}

function memoryGBFor(resources: ResourcesSpec, cpus: number): number {
  return resources.memory ?? (resources.memoryPerCpu ?? 1) * cpus;
}

/** The memory a job gets with `cpus` cores, in MiB (a job's GB are 1024 MiB). */
export function memoryMiBFor(resources: ResourcesSpec, cpus: number): number {
  return Math.ceil(memoryGBFor(resources, cpus) * MIB_PER_GB);
}

function pickCpus(resources: ResourcesSpec, available: number) {
  if (resources.cpusRange !== undefined) {
    const [min, max] = resources.cpusRange;
    return min <= available ? Math.min(max, available) : undefined;
  }
  if (resources.cpusOptions !== undefined) {
    const [fallback, preferred] = resources.cpusOptions;
    if (preferred <= available) return preferred;
    return fallback <= available ? fallback : undefined;
  }
  const cpus = resources.cpus ?? 1;
  return cpus <= available ? cpus : undefined;
}

export function walltimeMs(job: JobRecord): number {
  return (job.spec.resources.walltime ?? JOB_DEFAULTS.walltimeMinutes) * 60_000;
}

/** The container launch for one task, with the environment every PROMINENCE task gets. */
export function planTaskLaunch(
  job: JobRecord,
  taskIndex: number,
  taskAttempt: number,
  provisioned: ProvisionedResources,
  memoryMiB: number,
): TaskLaunch {
  const task = job.spec.tasks[taskIndex] as TaskSpec;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(task.env ?? {})) {
    env[key] = String(value);
  }
  Object.assign(env, {
    HOME: JOB_DEFAULTS.home,
    TMP: '/tmp',
    TEMP: '/tmp',
    TMPDIR: '/tmp',
    PROMINENCE_CONTAINER_RUNTIME: task.runtime,
    PROMINENCE_CPUS: String(provisioned.cpus),
    PROMINENCE_MEMORY: String(provisioned.memory),
    PROMINENCE_NODES: String(provisioned.nodes),
    PROMINENCE_NODE_NUM: '0',
    PROMINENCE_JOB_ID: String(job.id),
    PROMINENCE_TASK_NUM: String(taskIndex),
  });
  return {
    jobId: job.id,
    taskIndex,
    taskAttempt,
    image: task.image,
    ...(task.cmd === undefined ? {} : { command: ['/bin/sh', '-c', task.cmd] }),
    env,
    workdir: resolveWorkdir(task.workdir, job.id),
    cpus: provisioned.cpus,
    memoryMiB,
  };
}

function resolveWorkdir(workdir: string | undefined, jobId: number): string {
  if (workdir === undefined || workdir === '') {
    return JOB_DEFAULTS.workdir;
  }
  const substituted = workdir.replace(/\$\{?PROMINENCE_JOB_ID\}?/g, String(jobId));
  return substituted.startsWith('/') ? substituted : `${JOB_DEFAULTS.home}/${substituted}`;
}
