import {
  type ContextLookup,
  FlareConfigError,
  readBoolean,
  readChoice,
  readHttpsUrl,
  readInteger,
  readIntegerChoice,
  readText,
} from './context-values';

export { FlareConfigError } from './context-values';

/** Every context key the app reads. Set them in cdk.json or with `-c key=value`. */
export const CONTEXT_KEYS = {
  createUserPool: 'flare:createUserPool',
  jwtIssuer: 'flare:jwtIssuer',
  jwksUri: 'flare:jwksUri',
  jwtAudience: 'flare:jwtAudience',
  usernameClaim: 'flare:usernameClaim',
  groupsClaim: 'flare:groupsClaim',
  httpApiAuthorizer: 'flare:httpApiAuthorizer',
  workerMinTasks: 'flare:workerMinTasks',
  workerMaxTasks: 'flare:workerMaxTasks',
  workerConcurrency: 'flare:workerConcurrency',
  workerArchitecture: 'flare:workerArchitecture',
  leaseSeconds: 'flare:leaseSeconds',
  statusPollMs: 'flare:statusPollMs',
  logRetentionDays: 'flare:logRetentionDays',
  logBucketExpirationDays: 'flare:logBucketExpirationDays',
  tableDeletionProtection: 'flare:tableDeletionProtection',
  tableRemovalPolicy: 'flare:tableRemovalPolicy',
  logBucketRemovalPolicy: 'flare:logBucketRemovalPolicy',
  userPoolRemovalPolicy: 'flare:userPoolRemovalPolicy',
  logLevel: 'flare:logLevel',
} as const;

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

export const REMOVAL_POLICIES = ['retain', 'destroy'] as const;
export type RemovalChoice = (typeof REMOVAL_POLICIES)[number];

export const WORKER_ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type WorkerArchitecture = (typeof WORKER_ARCHITECTURES)[number];

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Step scaling gives each worker count its own step, and a policy holds at most 40 steps. */
export const MAX_WORKER_TASKS = 20;

/**
 * Who signs the tokens the API accepts: a Cognito user pool this stack creates, or an
 * existing OIDC issuer. Handlers verify tokens either way (FLARE_JWT_* variables).
 */
export type AuthConfig =
  | { readonly kind: 'user-pool'; readonly removalPolicy: RemovalChoice }
  | {
      readonly kind: 'issuer';
      readonly issuer: string;
      readonly jwksUri: string;
      /** @default no audience check (the handlers accept any `aud`) */
      readonly audience?: string;
    };

export interface FlareConfig {
  readonly auth: AuthConfig;
  /** @default `username` with the user pool (Cognito access tokens), else `preferred_username` */
  readonly usernameClaim: string;
  /** @default `cognito:groups` with the user pool, else `groups` */
  readonly groupsClaim: string;
  /**
   * Whether API Gateway's JWT authorizer also checks tokens before a function runs.
   * @default true when an audience is known (the user pool, or `flare:jwtAudience`), else false
   */
  readonly httpApiAuthorizer: boolean;
  /** Worker tasks kept running when there is no work; 0 lets the worker scale to zero. @default 0 */
  readonly workerMinTasks: number;
  /** @default 2 */
  readonly workerMaxTasks: number;
  /** Jobs one worker runs at once (each job is its own Fargate task). @default 10 */
  readonly workerConcurrency: number;
  /** CPU architecture of the worker image, built by Docker at deploy time. @default x86_64 */
  readonly workerArchitecture: WorkerArchitecture;
  /** How long a worker's hold on a running job lasts without renewal. @default 60 */
  readonly leaseSeconds: number;
  /** How often a running job's task status is read. @default 5000 */
  readonly statusPollMs: number;
  /** Retention of every log group the stack creates. @default 30 */
  readonly logRetentionDays: number;
  /** Days after which job logs are deleted from the log bucket; 0 keeps them. @default 365 */
  readonly logBucketExpirationDays: number;
  /** @default true */
  readonly tableDeletionProtection: boolean;
  /** What `cdk destroy` does with the job table. @default retain */
  readonly tableRemovalPolicy: RemovalChoice;
  /** What `cdk destroy` does with the log bucket and the job logs in it. @default retain */
  readonly logBucketRemovalPolicy: RemovalChoice;
  /** @default INFO */
  readonly logLevel: LogLevel;
}

/**
 * Reads and validates the app's configuration from CDK context. Throws a FlareConfigError
 * naming the key, its allowed values and the value given.
 */
export function readFlareConfig(lookup: ContextLookup): FlareConfig {
  const auth = readAuth(lookup);
  const pool = auth.kind === 'user-pool';
  const audienceKnown = pool || auth.audience !== undefined;
  const httpApiAuthorizer = readBoolean(lookup, CONTEXT_KEYS.httpApiAuthorizer, audienceKnown);
  if (httpApiAuthorizer && !audienceKnown) {
    throw new FlareConfigError(
      `${CONTEXT_KEYS.httpApiAuthorizer} needs an audience: API Gateway's JWT authorizer ` +
        `checks one, so set ${CONTEXT_KEYS.jwtAudience} or set the authorizer to false`,
    );
  }

  const workerMinTasks = readInteger(lookup, CONTEXT_KEYS.workerMinTasks, {
    min: 0,
    max: MAX_WORKER_TASKS,
    fallback: 0,
  });
  const workerMaxTasks = readInteger(lookup, CONTEXT_KEYS.workerMaxTasks, {
    min: Math.max(1, workerMinTasks),
    max: MAX_WORKER_TASKS,
    fallback: Math.max(2, workerMinTasks),
  });
  const tableDeletionProtection = readBoolean(lookup, CONTEXT_KEYS.tableDeletionProtection, true);
  const tableRemovalPolicy = readRemoval(lookup, CONTEXT_KEYS.tableRemovalPolicy);
  if (tableDeletionProtection && tableRemovalPolicy === 'destroy') {
    throw new FlareConfigError(
      `${CONTEXT_KEYS.tableRemovalPolicy} "destroy" needs ` +
        `${CONTEXT_KEYS.tableDeletionProtection} false, since a protected table cannot be deleted`,
    );
  }

  return {
    auth,
    usernameClaim:
      readText(lookup, CONTEXT_KEYS.usernameClaim) ?? (pool ? 'username' : 'preferred_username'),
    groupsClaim: readText(lookup, CONTEXT_KEYS.groupsClaim) ?? (pool ? 'cognito:groups' : 'groups'),
    httpApiAuthorizer,
    workerMinTasks,
    workerMaxTasks,
    workerConcurrency: readInteger(lookup, CONTEXT_KEYS.workerConcurrency, {
      min: 1,
      max: 50,
      fallback: 10,
    }),
    workerArchitecture: readChoice(
      lookup,
      CONTEXT_KEYS.workerArchitecture,
      WORKER_ARCHITECTURES,
      'x86_64',
    ),
    leaseSeconds: readInteger(lookup, CONTEXT_KEYS.leaseSeconds, {
      min: 15,
      max: 900,
      fallback: 60,
    }),
    statusPollMs: readInteger(lookup, CONTEXT_KEYS.statusPollMs, {
      min: 1000,
      max: 60_000,
      fallback: 5000,
    }),
    logRetentionDays: readIntegerChoice(
      lookup,
      CONTEXT_KEYS.logRetentionDays,
      LOG_RETENTION_DAYS,
      30,
    ),
    logBucketExpirationDays: readInteger(lookup, CONTEXT_KEYS.logBucketExpirationDays, {
      min: 0,
      max: 3650,
      fallback: 365,
    }),
    tableDeletionProtection,
    tableRemovalPolicy,
    logBucketRemovalPolicy: readRemoval(lookup, CONTEXT_KEYS.logBucketRemovalPolicy),
    logLevel: readChoice(lookup, CONTEXT_KEYS.logLevel, LOG_LEVELS, 'INFO'),
  };
}

function readAuth(lookup: ContextLookup): AuthConfig {
  const createUserPool = readBoolean(lookup, CONTEXT_KEYS.createUserPool, false);
  const issuer = readHttpsUrl(lookup, CONTEXT_KEYS.jwtIssuer);
  const jwksUri = readHttpsUrl(lookup, CONTEXT_KEYS.jwksUri);
  const audience = readText(lookup, CONTEXT_KEYS.jwtAudience);
  const userPoolRemoval = readRemoval(lookup, CONTEXT_KEYS.userPoolRemovalPolicy);

  if (createUserPool) {
    const given: [string, string | undefined][] = [
      [CONTEXT_KEYS.jwtIssuer, issuer],
      [CONTEXT_KEYS.jwksUri, jwksUri],
      [CONTEXT_KEYS.jwtAudience, audience],
    ];
    const extra = given.filter(([, value]) => value !== undefined).map(([key]) => key);
    if (extra.length > 0) {
      throw new FlareConfigError(
        `${CONTEXT_KEYS.createUserPool} is true, so ${extra.join(' and ')} must not be set: ` +
          `set ${CONTEXT_KEYS.createUserPool} to false to use your own issuer`,
      );
    }
    return { kind: 'user-pool', removalPolicy: userPoolRemoval };
  }
  if (lookup(CONTEXT_KEYS.userPoolRemovalPolicy) !== undefined) {
    throw new FlareConfigError(
      `${CONTEXT_KEYS.userPoolRemovalPolicy} applies only with ${CONTEXT_KEYS.createUserPool} true`,
    );
  }
  if (issuer === undefined || jwksUri === undefined) {
    throw new FlareConfigError(
      `Set ${CONTEXT_KEYS.jwtIssuer} and ${CONTEXT_KEYS.jwksUri} (an existing OIDC issuer), ` +
        `or ${CONTEXT_KEYS.createUserPool} true to create a Cognito user pool; ` +
        `got issuer ${issuer ?? 'unset'} and JWKS URI ${jwksUri ?? 'unset'}`,
    );
  }
  return { kind: 'issuer', issuer, jwksUri, ...(audience === undefined ? {} : { audience }) };
}

function readRemoval(lookup: ContextLookup, key: string): RemovalChoice {
  return readChoice(lookup, key, REMOVAL_POLICIES, 'retain');
}
