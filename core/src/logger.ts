import { Logger } from '@aws-lambda-powertools/logger';

/** The levels FLARE_LOG_LEVEL takes, in any case. */
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

type LogLevel = NonNullable<NonNullable<ConstructorParameters<typeof Logger>[0]>['logLevel']>;

/**
 * JSON-lines logger shared by every part of Flare. Messages are short and fixed; data goes in
 * fields (`jobId`, `owner`, `attempt`, `taskIndex`, durations in ms). Never log tokens, job
 * environment values or request bodies. `FLARE_LOG_LEVEL` sets the level (default INFO).
 */
export function createLogger(serviceName: string): Logger {
  const logLevel = (process.env.FLARE_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  return new Logger({ serviceName, logLevel });
}

export type { Logger };
