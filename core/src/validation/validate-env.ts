import { ValidationError } from '../errors';
import { describeValue, quote, requireObject, shorten } from './checks';

type EnvValue = string | number | boolean;

/** What a shell and `docker run -e` accept as a variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The variables the worker sets; a task must not be able to replace them, since tools inside
 * the job trust them. Others with the prefix (PROMINENCE_URL for the Python client, say) are
 * the user's to set.
 */
const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'PROMINENCE_CONTAINER_RUNTIME',
  'PROMINENCE_CPUS',
  'PROMINENCE_MEMORY',
  'PROMINENCE_NODES',
  'PROMINENCE_NODE_NUM',
  'PROMINENCE_JOB_ID',
  'PROMINENCE_WORKFLOW_ID',
  'PROMINENCE_TASK_NUM',
  'PROMINENCE_TOKEN',
]);
const RESERVED_PREFIX = 'PROMINENCE_PARAMETER_';

/**
 * Checks a task's `env`. Messages name the variable but never repeat its value: values may be
 * secrets, and messages end up in responses and logs.
 */
export function validateEnv(value: unknown, field: string): Readonly<Record<string, EnvValue>> {
  const input = requireObject(value, field);

  const entries = Object.entries(input).map(([name, variable]) => {
    if (!ENV_NAME.test(name)) {
      throw new ValidationError(
        `${field} has an invalid variable name ${quote(name)}: ` +
          'use letters, digits and _, not starting with a digit',
      );
    }
    const where = `${field}.${shorten(name)}`;
    if (RESERVED_NAMES.has(name) || name.startsWith(RESERVED_PREFIX)) {
      throw new ValidationError(`${where} is reserved: Flare sets it for every task`);
    }
    return [name, validateEnvValue(variable, where)] as const;
  });

  // fromEntries defines own properties, so a variable named __proto__ stays a plain variable.
  return Object.fromEntries(entries);
}

function validateEnvValue(value: unknown, field: string): EnvValue {
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
    return value;
  }
  if (typeof value !== 'string') {
    throw new ValidationError(
      `${field} must be a string, number or boolean, got ${describeValue(value)}`,
    );
  }
  if (value.includes('\u0000')) {
    throw new ValidationError(`${field} must not contain a NUL character`);
  }
  return value;
}
