import { UnsupportedFeatureError, ValidationError } from '../errors';
import type { ResourcesSpec } from '../job-types';
import {
  describeValue,
  type JsonObject,
  type Mutable,
  rejectUnknownKeys,
  requireInteger,
  requireObject,
} from './checks';

const RESOURCE_KEYS: ReadonlySet<string> = new Set([
  'nodes',
  'totalCpusRange',
  'cpus',
  'cpusRange',
  'cpusOptions',
  'memory',
  'memoryPerCpu',
  'disk',
  'walltime',
]);

const CPU_KEYS = ['cpus', 'cpusRange', 'cpusOptions'] as const;
const MEMORY_KEYS = ['memory', 'memoryPerCpu'] as const;

type CpusSpec = Pick<ResourcesSpec, (typeof CPU_KEYS)[number]>;
type MemorySpec = Pick<ResourcesSpec, (typeof MEMORY_KEYS)[number]>;

/**
 * Checks `resources` in the reference server's order (nodes, totalCpusRange, cpus group,
 * memory group, disk, walltime) and returns it with `nodes` filled in. Disk and walltime are
 * left absent when not given: the worker applies their defaults, and describe must show the
 * job as submitted.
 */
export function validateResources(value: unknown): ResourcesSpec {
  if (value === undefined) {
    throw new ValidationError('a job must contain resources');
  }
  const input = requireObject(value, 'resources');
  rejectUnknownKeys(input, RESOURCE_KEYS, 'resources');

  const resources: Mutable<ResourcesSpec> = { nodes: validateNodes(input.nodes) };
  if (input.totalCpusRange !== undefined) {
    throw new UnsupportedFeatureError(
      'resources.totalCpusRange is not supported yet: every job runs on one node',
    );
  }
  Object.assign(resources, validateCpus(input), validateMemory(input));
  if (input.disk !== undefined) {
    resources.disk = requireInteger(input.disk, 'resources.disk', { min: 1 });
  }
  if (input.walltime !== undefined) {
    resources.walltime = requireInteger(input.walltime, 'resources.walltime (minutes)', {
      min: 1,
    });
  }
  return resources;
}

/**
 * The reference service writes `nodes: 1` into the stored description when neither `nodes` nor
 * `totalCpusRange` is given; `totalCpusRange` is refused right after this, so 1 is always right.
 */
function validateNodes(value: unknown): number {
  if (value === undefined) {
    return 1;
  }
  const nodes = requireInteger(value, 'resources.nodes', { min: 1 });
  if (nodes > 1) {
    throw new UnsupportedFeatureError(
      `resources.nodes greater than 1 are not supported yet, got ${nodes}`,
    );
  }
  return nodes;
}

function validateCpus(input: JsonObject): CpusSpec {
  const [chosen, other] = CPU_KEYS.filter((key) => input[key] !== undefined);
  if (chosen === undefined) {
    throw new ValidationError(
      'one of resources.cpus, resources.cpusRange or resources.cpusOptions must be defined',
    );
  }
  if (other !== undefined) {
    throw new ValidationError(`resources.${chosen} and resources.${other} cannot both be defined`);
  }

  switch (chosen) {
    case 'cpus':
      return { cpus: requireInteger(input.cpus, 'resources.cpus', { min: 1 }) };
    case 'cpusRange':
      return { cpusRange: validateCpusRange(input.cpusRange) };
    case 'cpusOptions':
      return {
        cpusOptions: requireIntegerPair(input.cpusOptions, 'resources.cpusOptions', 'two options'),
      };
  }
}

function validateCpusRange(value: unknown): readonly [number, number] {
  const [min, max] = requireIntegerPair(value, 'resources.cpusRange', 'min and max');
  if (min > max) {
    throw new ValidationError(`resources.cpusRange must give min before max, got [${min}, ${max}]`);
  }
  return [min, max];
}

/** A list of exactly two core counts, each at least 1: the shape of cpusRange and cpusOptions. */
function requireIntegerPair(
  value: unknown,
  field: string,
  meaning: string,
): readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ValidationError(`${field} must be a list of ${meaning}, got ${describeValue(value)}`);
  }
  return [
    requireInteger(value[0], `${field}[0]`, { min: 1 }),
    requireInteger(value[1], `${field}[1]`, { min: 1 }),
  ];
}

function validateMemory(input: JsonObject): MemorySpec {
  const [chosen, other] = MEMORY_KEYS.filter((key) => input[key] !== undefined);
  if (chosen === undefined) {
    throw new ValidationError('resources.memory or resources.memoryPerCpu (in GB) must be defined');
  }
  if (other !== undefined) {
    throw new ValidationError(`resources.${chosen} and resources.${other} cannot both be defined`);
  }

  const gigabytes = requirePositiveNumber(input[chosen], `resources.${chosen} (GB)`);
  return chosen === 'memory' ? { memory: gigabytes } : { memoryPerCpu: gigabytes };
}

/**
 * Memory may be fractional (§12 item 15): the 2022 server refused the `16.0` that CLI 0.21
 * sends, and a request such as 0.5 GB is reasonable.
 */
function requirePositiveNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(
      `${field} must be a number greater than 0, got ${describeValue(value)}`,
    );
  }
  return value;
}
