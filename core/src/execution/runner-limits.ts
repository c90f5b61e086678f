import { ValidationError } from '../errors';
import type { ResourcesSpec } from '../job-types';
import { memoryMiBFor } from './task-plan';

/** Cores and memory a job needs at the least. */
export interface ResourceRequest {
  readonly cpus: number;
  readonly memoryMiB: number;
}

/**
 * What the engine of a deployment can never hold, known without asking it: the API applies it
 * at submission, so a job no engine size can run is refused with a 400 that says why, rather
 * than failing later with "No matching resources". Local mode has none, as its engine's size
 * is only known to the worker.
 */
export interface RunnerLimits {
  /** Why no task the engine runs can hold `request`; undefined when one can. */
  refusal(request: ResourceRequest): string | undefined;
}

/**
 * The least a job accepts: the lower end of `cpusRange`, the smaller of `cpusOptions`, and the
 * memory that goes with that many cores.
 */
export function leastRequest(resources: ResourcesSpec): ResourceRequest {
  const cpus =
    resources.cpusRange?.[0] ??
    (resources.cpusOptions === undefined ? undefined : Math.min(...resources.cpusOptions)) ??
    resources.cpus ??
    1;
  return { cpus, memoryMiB: memoryMiBFor(resources, cpus) };
}

/** Throws a ValidationError naming why the engine can never run a job of these resources. */
export function assertWithinLimits(resources: ResourcesSpec, limits: RunnerLimits): void {
  const refusal = limits.refusal(leastRequest(resources));
  if (refusal !== undefined) {
    throw new ValidationError(`This service cannot run the job: ${refusal}`);
  }
}
