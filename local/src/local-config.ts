import { resolve } from 'node:path';
import { StartupError } from '../../core/src/errors';
import { LOG_LEVELS } from '../../core/src/logger';

type Env = Readonly<Record<string, string | undefined>>;

/** Local mode's settings; every one has an embedded default. */
export interface LocalConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly basePath: string;
  /** Whether this process runs the worker too (FLARE_WORKER=false serves the API only). */
  readonly runWorker: boolean;
  readonly workerConcurrency: number;
  readonly leaseDurationMs: number;
  readonly statusPollIntervalMs: number;
  readonly usernameClaim: string;
  readonly groupsClaim: string;
  /** An external OIDC issuer instead of the local one, when set. */
  readonly externalIssuer?: {
    readonly issuer: string;
    readonly jwksUri: string;
    readonly audience: string | null;
  };
}

export function readLocalConfig(env: Env): LocalConfig {
  const logLevel = env.FLARE_LOG_LEVEL?.toUpperCase();
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new StartupError(
      `FLARE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${env.FLARE_LOG_LEVEL})`,
    );
  }
  const basePath = (env.FLARE_BASE_PATH ?? '/api/v1').replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/')) {
    throw new StartupError(`FLARE_BASE_PATH must start with / (got ${basePath})`);
  }
  const issuer = env.FLARE_JWT_ISSUER;
  const jwksUri = env.FLARE_JWKS_URI;
  if ((issuer === undefined) !== (jwksUri === undefined)) {
    throw new StartupError('Set both FLARE_JWT_ISSUER and FLARE_JWKS_URI, or neither');
  }
  return {
    host: env.FLARE_HOST ?? '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    dataDir: resolve(env.FLARE_DATA_DIR ?? '.flare'),
    basePath,
    runWorker: boolean(env, 'FLARE_WORKER', true),
    workerConcurrency: integer(env, 'FLARE_WORKER_CONCURRENCY', 2, 1, 64),
    leaseDurationMs: integer(env, 'FLARE_LEASE_SECONDS', 30, 3, 3600) * 1000,
    statusPollIntervalMs: integer(env, 'FLARE_STATUS_POLL_MS', 1000, 100, 60_000),
    usernameClaim: env.FLARE_USERNAME_CLAIM ?? 'preferred_username',
    groupsClaim: env.FLARE_GROUPS_CLAIM ?? 'groups',
    ...(issuer !== undefined && jwksUri !== undefined
      ? { externalIssuer: { issuer, jwksUri, audience: env.FLARE_JWT_AUDIENCE ?? null } }
      : {}),
  };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StartupError(`${name} must be an integer from ${min} to ${max} (got ${raw})`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new StartupError(`${name} must be true or false (got ${env[name]})`);
}
