import { ValidationError } from '../errors';
import { describeValue, quote, requireObject, shorten } from './checks';

type EnvValue = string | number | boolean;

/** What a shell and `docker run -e` accept as a variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The worker sets PROMINENCE_JOB_ID, PROMINENCE_CPUS, PROMINENCE_TOKEN and others; a task must
 * not be able to replace them, since tools inside the job trust them.
 */
const RESERVED_PREFIX = 'PROMINENCE_';

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
    if (name.startsWith(RESERVED_PREFIX)) {
      throw new ValidationError(
        `${where} is reserved: Flare sets the variables whose names start with ${RESERVED_PREFIX}`,
      );
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
