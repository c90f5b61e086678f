import type { ResourceRequest, RunnerLimits } from '../../core/src/execution/runner-limits';

/** One task size Fargate accepts: `cpu` and `memory` of a task definition. */
export interface FargateSize {
  /** 1024 units are one vCPU. */
  readonly cpuUnits: number;
  readonly memoryMiB: number;
}

/** The size a job runs at, or why Fargate has none that holds it. */
export type FargateFit =
  | { readonly fits: true; readonly size: FargateSize }
  | { readonly fits: false; readonly reason: string };

/**
 * What each job task's FireLens log router (aws-for-fluent-bit) reserves beside the job's own
 * container. The job's memory limit is what it asked for, so the task must hold both.
 */
export const LOG_ROUTER_MEMORY_MIB = 50;

const GIB = 1024;

function gibSteps(fromGiB: number, toGiB: number, stepGiB: number): number[] {
  const sizes: number[] = [];
  for (let gib = fromGiB; gib <= toGiB; gib += stepGiB) sizes.push(gib * GIB);
  return sizes;
}

/**
 * Fargate's valid CPU and memory pairs for Linux tasks, as listed in "Troubleshoot Amazon ECS
 * task definition invalid CPU or memory errors",
 * https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html (and the
 * `memory` parameter of RegisterTaskDefinition). The 8 and 16 vCPU sizes need platform
 * version 1.4.0 or later, which LATEST is.
 */
const MEMORY_BY_CPU: readonly (readonly [number, readonly number[]])[] = [
  [256, [512, 1024, 2048]],
  [512, gibSteps(1, 4, 1)],
  [1024, gibSteps(2, 8, 1)],
  [2048, gibSteps(4, 16, 1)],
  [4096, gibSteps(8, 30, 1)],
  [8192, gibSteps(16, 60, 4)],
  [16384, gibSteps(32, 120, 8)],
];

/**
 * Every size, fewest CPU units first and then least memory: also cheapest first, since a vCPU
 * costs more per hour than the memory steps between two CPU sizes.
 */
export const FARGATE_SIZES: readonly FargateSize[] = MEMORY_BY_CPU.flatMap(([cpuUnits, memory]) =>
  memory.map((memoryMiB) => ({ cpuUnits, memoryMiB })),
);

const LARGEST = FARGATE_SIZES.reduce((a, b) =>
  b.cpuUnits > a.cpuUnits || (b.cpuUnits === a.cpuUnits && b.memoryMiB > a.memoryMiB) ? b : a,
);

/** The most a job may ask for: Fargate's largest task, less the log router's reservation. */
export const FARGATE_MAX_REQUEST: ResourceRequest = {
  cpus: LARGEST.cpuUnits / 1024,
  memoryMiB: LARGEST.memoryMiB - LOG_ROUTER_MEMORY_MIB,
};

/** The smallest size with at least the job's cores and its memory plus the log router's. */
export function pickFargateSize(request: ResourceRequest): FargateFit {
  const cpuUnits = Math.ceil(request.cpus * 1024);
  const memoryMiB = request.memoryMiB + LOG_ROUTER_MEMORY_MIB;
  const size = FARGATE_SIZES.find((s) => s.cpuUnits >= cpuUnits && s.memoryMiB >= memoryMiB);
  if (size !== undefined) {
    return { fits: true, size };
  }
  if (request.cpus > FARGATE_MAX_REQUEST.cpus) {
    return {
      fits: false,
      reason:
        `Fargate's largest task has ${FARGATE_MAX_REQUEST.cpus} vCPUs, ` +
        `and the job asks for at least ${request.cpus} cores`,
    };
  }
  return {
    fits: false,
    reason:
      `Fargate's largest task has ${LARGEST.memoryMiB / GIB} GiB of memory, ` +
      `${LOG_ROUTER_MEMORY_MIB} MiB of it for the log router, ` +
      `and the job asks for at least ${request.memoryMiB} MiB`,
  };
}

/** The submission check for a deployment that runs jobs on Fargate. */
export const fargateLimits: RunnerLimits = {
  refusal: (request) => {
    const fit = pickFargateSize(request);
    return fit.fits ? undefined : fit.reason;
  },
};
