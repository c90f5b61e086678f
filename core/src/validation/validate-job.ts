import { Buffer } from 'node:buffer';
import { UnsupportedFeatureError, ValidationError } from '../errors';
import type { JobSpec } from '../job-types';
import { isJsonObject, type JsonObject, type Mutable, quote, rejectUnknownKeys } from './checks';
import { validateLabels } from './validate-labels';
import { validatePolicies } from './validate-policies';
import { validateResources } from './validate-resources';
import { validateTasks } from './validate-tasks';

/**
 * The largest job description Flare keeps, serialised as JSON. The store holds a job in one
 * item (DynamoDB allows 400 KB), which also carries the execution record and run state.
 */
export const MAX_JOB_SPEC_BYTES = 300_000;

const MAX_NAME_CHARS = 512;

const JOB_NAME = /^[a-zA-Z0-9\-_\s/.]+$/;

const JOB_KEYS: ReadonlySet<string> = new Set([
  'name',
  'labels',
  'resources',
  'tasks',
  'artifacts',
  'inputs',
  'outputFiles',
  'outputDirs',
  'storage',
  'policies',
  'notifications',
]);

/** Sections the worker cannot act on yet, in the order §4.9 checks them, with what to say. */
const UNSUPPORTED_BEFORE_POLICIES = [
  ['artifacts', 'artifacts are not supported yet'],
  ['outputFiles', 'outputFiles are not supported yet'],
  ['outputDirs', 'outputDirs are not supported yet'],
  ['inputs', 'inputs are not supported yet'],
  ['storage', 'storage is not supported yet'],
] as const;

const UNSUPPORTED_AFTER_POLICIES = [
  ['notifications', 'notifications are not supported yet'],
] as const;

/**
 * Checks a submitted job description in the order of spec §4.9, so the first failure is the
 * one the reference server would report, and returns a fresh JobSpec with only known keys and
 * the defaults the reference stores: `name` "", `resources.nodes` 1 and each task's `runtime`.
 *
 * @throws UnsupportedFeatureError for well-formed requests that Flare does not run yet
 * @throws ValidationError for anything else that is wrong, naming the field
 */
export function validateJobSpec(input: unknown): JobSpec {
  if (!isJsonObject(input)) {
    throw new ValidationError('the job description must be a JSON object');
  }
  rejectUnknownKeys(input, JOB_KEYS, 'job description');

  const name = input.name === undefined ? '' : validateName(input.name);
  const labels = input.labels === undefined ? undefined : validateLabels(input.labels);
  const resources = validateResources(input.resources);
  const tasks = validateTasks(input.tasks, resources);
  rejectUnsupportedSections(input, UNSUPPORTED_BEFORE_POLICIES);
  const policies = input.policies === undefined ? undefined : validatePolicies(input.policies);
  rejectUnsupportedSections(input, UNSUPPORTED_AFTER_POLICIES);

  const spec: Mutable<JobSpec> = { name, resources, tasks };
  if (labels !== undefined) {
    spec.labels = labels;
  }
  if (policies !== undefined) {
    spec.policies = policies;
  }
  // Measured on the result, not the input: the defaults make it longer than what was sent.
  rejectOversizedSpec(spec);
  return spec;
}

function validateName(value: unknown): string {
  if (typeof value !== 'string') {
    throw new ValidationError('name must be a string');
  }
  if (value.length > MAX_NAME_CHARS) {
    throw new ValidationError(
      `name must be at most ${MAX_NAME_CHARS} characters, got ${value.length}`,
    );
  }
  if (value !== '' && !JOB_NAME.test(value)) {
    throw new ValidationError(
      `invalid name ${quote(value)}: use letters, digits, spaces and _ - / . only`,
    );
  }
  return value;
}

function rejectUnsupportedSections(
  input: JsonObject,
  sections: readonly (readonly [string, string])[],
): void {
  const present = sections.find(([key]) => input[key] !== undefined);
  if (present !== undefined) {
    throw new UnsupportedFeatureError(present[1]);
  }
}

function rejectOversizedSpec(spec: JobSpec): void {
  const bytes = Buffer.byteLength(JSON.stringify(spec), 'utf8');
  if (bytes > MAX_JOB_SPEC_BYTES) {
    throw new ValidationError(
      `the job description is too large: ${bytes} bytes, at most ${MAX_JOB_SPEC_BYTES} allowed`,
    );
  }
}
