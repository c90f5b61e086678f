import assert from 'node:assert/strict';
import { ValidationError } from '../../core/src/errors';
import type { JobSpec } from '../../core/src/job-types';
import { validateJobSpec } from '../../core/src/validation';

/** Keys to set on a built input; a key set to `undefined` is removed from it. */
export type InputOverrides = Readonly<Record<string, unknown>>;

/** A job description as a client sends it: plain JSON, free to be made invalid by a test. */
export type JobInput = Record<string, unknown>;

function withOverrides(base: JobInput, overrides: InputOverrides): JobInput {
  const merged = { ...base, ...overrides };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
}

/** `resources` as the CLI sends them by default: one node, 1 core, 1 GB, 10 GB of disk. */
export function buildResourcesInput(overrides: InputOverrides = {}): JobInput {
  return withOverrides({ nodes: 1, cpus: 1, memory: 1, disk: 10 }, overrides);
}

/** One basic task with a small public image and a command that ends at once. */
export function buildTaskInput(overrides: InputOverrides = {}): JobInput {
  return withOverrides({ image: 'busybox', runtime: 'singularity', cmd: 'echo hello' }, overrides);
}

/**
 * A valid job description with one task, shaped like the one the CLI's `create` sends.
 * Pass `buildResourcesInput(...)` or `[buildTaskInput(...)]` to change the nested parts.
 */
export function buildJobSpecInput(overrides: InputOverrides = {}): JobInput {
  return withOverrides(
    { name: 'test-job', resources: buildResourcesInput(), tasks: [buildTaskInput()] },
    overrides,
  );
}

/** A validated JobSpec, with the defaults that validation applies, for store or worker tests. */
export function buildJobSpec(overrides: InputOverrides = {}): JobSpec {
  return validateJobSpec(buildJobSpecInput(overrides));
}

/** The error `validateJobSpec` throws for `input`; fails the test when it accepts the input. */
export function validationErrorFor(input: unknown): ValidationError {
  try {
    validateJobSpec(input);
  } catch (error) {
    if (error instanceof ValidationError) {
      return error;
    }
    throw error;
  }
  assert.fail('expected validateJobSpec to reject the input, but it accepted it');
}

/**
 * Asserts that `validateJobSpec` refuses `input` with exactly the `expected` class (so a plain
 * ValidationError is not mistaken for an UnsupportedFeatureError) and a message containing
 * `fragment`.
 */
export function assertJobSpecRejected(
  input: unknown,
  expected: typeof ValidationError,
  fragment: string,
): void {
  const error = validationErrorFor(input);
  assert.equal(error.constructor, expected, `unexpected ${error.name}: ${error.message}`);
  assert.ok(
    error.message.includes(fragment),
    `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(fragment)}`,
  );
}
