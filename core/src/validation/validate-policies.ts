import { ValidationError } from '../errors';
import type { PoliciesSpec } from '../job-types';
import {
  type IntegerBounds,
  type Mutable,
  rejectUnknownKeys,
  requireBoolean,
  requireInteger,
  requireObject,
  requireOneOf,
} from './checks';
import { validatePlacement } from './validate-placement';

/** The longest wait the reference accepts for the time limits below: 31 days, in minutes. */
const MAX_POLICY_MINUTES = 44_640;

/** Bounds are inclusive, as the reference checks them, though its messages say "less than". */
const INTEGER_POLICIES = [
  ['maximumRetries', { min: 1, max: 6 }],
  ['maximumTaskRetries', { min: 1, max: 6 }],
  // -1 means "wait until it runs", as the docs say; the reference refused it (§12 item 16).
  ['maximumTimeInQueue', { min: -1, max: MAX_POLICY_MINUTES }],
  ['maximumIdleTimePerResource', { min: 1, max: MAX_POLICY_MINUTES }],
  ['priority', { min: 0 }],
] as const satisfies readonly (readonly [keyof PoliciesSpec, IntegerBounds])[];

const BOOLEAN_POLICIES = [
  'leaveInQueue',
  'ignoreTaskFailures',
  'reportJobSuccessOnTaskFailure',
  'runSerialTasksOnAllNodes',
] as const satisfies readonly (keyof PoliciesSpec)[];

/** The misspelling that the docs and the Python client send (§12 item 20). */
const IGNORE_TASK_FAILURES_TYPO = 'ignoreTaskTailures';

const AUTO_SCALING_TYPES = ['none', 'dedicated', 'shared'] as const;

const POLICY_KEYS: ReadonlySet<string> = new Set([
  ...INTEGER_POLICIES.map(([key]) => key),
  ...BOOLEAN_POLICIES,
  IGNORE_TASK_FAILURES_TYPO,
  'placement',
  'autoScalingType',
  'preemptible',
]);

/** Checks `policies`, storing the typo `ignoreTaskTailures` under its intended name. */
export function validatePolicies(value: unknown): PoliciesSpec {
  const input = requireObject(value, 'policies');
  rejectUnknownKeys(input, POLICY_KEYS, 'policies');

  const policies: Mutable<PoliciesSpec> = {};
  for (const [key, bounds] of INTEGER_POLICIES) {
    if (input[key] !== undefined) {
      policies[key] = requireInteger(input[key], `policies.${key}`, bounds);
    }
  }
  for (const key of BOOLEAN_POLICIES) {
    if (input[key] !== undefined) {
      policies[key] = requireBoolean(input[key], `policies.${key}`);
    }
  }
  if (input[IGNORE_TASK_FAILURES_TYPO] !== undefined) {
    policies.ignoreTaskFailures = ignoreTaskFailuresFromTypo(input);
  }
  if (input.placement !== undefined) {
    policies.placement = validatePlacement(input.placement, 'policies.placement');
  }
  if (input.autoScalingType !== undefined) {
    policies.autoScalingType =
      input.autoScalingType === null
        ? null
        : requireOneOf(input.autoScalingType, AUTO_SCALING_TYPES, 'policies.autoScalingType');
  }
  if (input.preemptible !== undefined) {
    policies.preemptible = copyJsonValue(input.preemptible, 'policies.preemptible');
  }
  return policies;
}

/** The typo's value, refused when the correct name is given too, so neither silently wins. */
function ignoreTaskFailuresFromTypo(input: Readonly<Record<string, unknown>>): boolean {
  if (input.ignoreTaskFailures !== undefined) {
    throw new ValidationError(
      `policies.ignoreTaskFailures and policies.${IGNORE_TASK_FAILURES_TYPO} cannot both be ` +
        'defined: the second is a misspelling of the first',
    );
  }
  return requireBoolean(input[IGNORE_TASK_FAILURES_TYPO], `policies.${IGNORE_TASK_FAILURES_TYPO}`);
}

/**
 * `preemptible` has no effect and is not validated, but the returned spec must share nothing
 * with the input and must survive the store's JSON serialisation.
 */
function copyJsonValue(value: unknown, field: string): unknown {
  try {
    return JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new ValidationError(`${field} must be a JSON value`, { cause: error });
  }
}
