import { StartupError } from '../../../core/src/errors';
import type { TokenVerifierConfig } from '../auth/token-verifier';
import { ROUTES } from '../routes';

type Env = Readonly<Record<string, string | undefined>>;

/** Levels the JSON logger knows (FLARE_LOG_LEVEL). */
export const LOG_LEVELS = [
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'ERROR',
  'CRITICAL',
  'SILENT',
] as const;

export type LogLevelName = (typeof LOG_LEVELS)[number];

/** What one API Lambda function needs, read from the environment the stack gives it. */
export interface AwsApiConfig {
  readonly region: string;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly logBucket: string;
  readonly jobLogGroupName: string;
  readonly logLevel: LogLevelName;
  /** The ROUTES entry this function serves. */
  readonly routeName: string;
  /** The API's path prefix; API Gateway routes on it, so the function only reports it. */
  readonly basePath: string;
  readonly auth: Omit<TokenVerifierConfig, 'jwks'>;
}

/**
 * Reads and checks the Lambda environment, naming every variable that is missing or wrong in
 * one error, so that a misconfigured stack fails at the function's init with the whole list.
 */
export function readAwsApiConfig(
  env: Env,
  routeNames: readonly string[] = ROUTES.map((route) => route.name),
): AwsApiConfig {
  const problems: string[] = [];
  const read = (name: string, rule: Rule, fallback?: string): string => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') {
      if (fallback === undefined) problems.push(`${name} is not set`);
      return fallback ?? '';
    }
    const problem = rule(raw);
    if (problem !== undefined) problems.push(`${name} ${problem} (got ${raw})`);
    return raw;
  };

  const config: AwsApiConfig = {
    region: read('AWS_REGION', matches(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region')),
    tableName: read('FLARE_TABLE_NAME', matches(/^[\w.-]{3,255}$/, 'must be a table name')),
    queueUrl: read('FLARE_QUEUE_URL', url(['https:', 'http:'])),
    logBucket: read(
      'FLARE_LOG_BUCKET',
      matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    ),
    jobLogGroupName: read(
      'FLARE_JOB_LOG_GROUP',
      matches(/^[\w./#-]{1,512}$/, 'must be a CloudWatch Logs group name'),
    ),
    logLevel: read(
      'FLARE_LOG_LEVEL',
      (value) => oneOf(LOG_LEVELS)(value.toUpperCase()),
      'INFO',
    ).toUpperCase() as LogLevelName,
    routeName: read('FLARE_ROUTE', oneOf(routeNames)),
    basePath: read('FLARE_BASE_PATH', basePath, '/api/v1').replace(/\/+$/, ''),
    auth: {
      issuer: read('FLARE_JWT_ISSUER', () => undefined),
      // aws-jwt-verify fetches keys over HTTPS only.
      jwksUri: read('FLARE_JWKS_URI', url(['https:'])),
      audience: env.FLARE_JWT_AUDIENCE?.trim() || null,
      usernameClaim: read('FLARE_USERNAME_CLAIM', () => undefined, 'preferred_username'),
      groupsClaim: read('FLARE_GROUPS_CLAIM', () => undefined, 'groups'),
    },
  };
  if (problems.length > 0) {
    throw new StartupError(`The function's environment is not valid: ${problems.join('; ')}`);
  }
  return config;
}

/** Says what is wrong with a set value, or undefined when it is fine. */
type Rule = (value: string) => string | undefined;

function matches(pattern: RegExp, requirement: string): Rule {
  return (value) => (pattern.test(value) ? undefined : requirement);
}

function oneOf(allowed: readonly string[]): Rule {
  return (value) => (allowed.includes(value) ? undefined : `must be one of ${allowed.join(', ')}`);
}

function url(protocols: readonly string[]): Rule {
  const requirement = `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return (value) => {
    try {
      return protocols.includes(new URL(value).protocol) ? undefined : requirement;
    } catch {
      return requirement;
    }
  };
}

function basePath(value: string): string | undefined {
  return value.startsWith('/') ? undefined : 'must start with /';
}
