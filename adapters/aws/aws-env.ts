import { StartupError } from '../../core/src/errors';
import { LOG_LEVELS, type LogLevelName } from '../../core/src/logger';

export type Env = Readonly<Record<string, string | undefined>>;

/** Says what is wrong with a set value, or undefined when it is fine. */
export type Rule = (value: string) => string | undefined;

/**
 * Reads variables from an environment the stack sets, collecting every problem, so that a
 * misconfigured function or worker fails at its start naming all of them in one error.
 */
export class EnvReader {
  readonly #env: Env;
  readonly #problems: string[] = [];

  constructor(env: Env) {
    this.#env = env;
  }

  /** The trimmed value, or `fallback` when unset; a missing required one is a problem. */
  read(name: string, rule: Rule, fallback?: string): string {
    const raw = this.#env[name]?.trim();
    if (raw === undefined || raw === '') {
      if (fallback === undefined) this.#problems.push(`${name} is not set`);
      return fallback ?? '';
    }
    const problem = rule(raw);
    if (problem !== undefined) this.#problems.push(`${name} ${problem} (got ${raw})`);
    return raw;
  }

  optional(name: string): string | undefined {
    const raw = this.#env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  }

  list(name: string, pattern: RegExp, what: string): string[] {
    const rule: Rule = (value) => {
      const items = splitList(value);
      const valid = items.length > 0 && items.every((item) => pattern.test(item));
      return valid ? undefined : `must be a comma-separated list of ${what}`;
    };
    return splitList(this.read(name, rule));
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    return Number(this.read(name, integerFrom(min, max), String(fallback)));
  }

  /** Throws one StartupError naming every problem found so far. */
  assertValid(whose: string): void {
    if (this.#problems.length > 0) {
      throw new StartupError(`${whose} environment is not valid: ${this.#problems.join('; ')}`);
    }
  }
}

/** What the API functions and the worker both read: where jobs, queue and logs live. */
export interface AwsResourcesConfig {
  readonly region: string;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly logBucket: string;
  readonly jobLogGroupName: string;
  readonly logLevel: LogLevelName;
}

export function readAwsResources(reader: EnvReader): AwsResourcesConfig {
  return {
    region: reader.read('AWS_REGION', matches(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region')),
    tableName: reader.read('FLARE_TABLE_NAME', matches(/^[\w.-]{3,255}$/, 'must be a table name')),
    queueUrl: reader.read('FLARE_QUEUE_URL', url(['https:', 'http:'])),
    logBucket: reader.read(
      'FLARE_LOG_BUCKET',
      matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    ),
    jobLogGroupName: reader.read(
      'FLARE_JOB_LOG_GROUP',
      matches(/^[\w./#-]{1,512}$/, 'must be a CloudWatch Logs group name'),
    ),
    logLevel: reader
      .read('FLARE_LOG_LEVEL', oneOf(LOG_LEVELS), 'INFO')
      .toUpperCase() as LogLevelName,
  };
}

export function matches(pattern: RegExp, requirement: string): Rule {
  return (value) => (pattern.test(value) ? undefined : requirement);
}

/** One of `allowed`, in any case. */
export function oneOf(allowed: readonly string[]): Rule {
  const upper = allowed.map((item) => item.toUpperCase());
  return (value) =>
    upper.includes(value.toUpperCase()) ? undefined : `must be one of ${allowed.join(', ')}`;
}

export function url(protocols: readonly string[]): Rule {
  const requirement = `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return (value) => {
    try {
      return protocols.includes(new URL(value).protocol) ? undefined : requirement;
    } catch {
      return requirement;
    }
  };
}

function integerFrom(min: number, max: number): Rule {
  return (value) => {
    const number = Number(value);
    return Number.isInteger(number) && number >= min && number <= max
      ? undefined
      : `must be an integer from ${min} to ${max}`;
  };
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
