import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONTEXT_KEYS,
  type FlareConfig,
  FlareConfigError,
  readFlareConfig,
} from '../../infra/src/flare-config';

const POOL = { [CONTEXT_KEYS.createUserPool]: true };
const ISSUER = {
  [CONTEXT_KEYS.jwtIssuer]: 'https://login.example.org/realms/science',
  [CONTEXT_KEYS.jwksUri]: 'https://login.example.org/realms/science/certs',
};

function configFrom(context: Record<string, unknown>): FlareConfig {
  return readFlareConfig((key) => context[key]);
}

function assertRefused(context: Record<string, unknown>, message: RegExp): void {
  assert.throws(
    () => configFrom(context),
    (error: unknown) => error instanceof FlareConfigError && message.test(error.message),
  );
}

describe('readFlareConfig', () => {
  it('applies the documented defaults with only the user pool set', () => {
    // Act
    const config = configFrom(POOL);

    // Assess
    assert.deepEqual(config, {
      auth: { kind: 'user-pool', removalPolicy: 'retain' },
      usernameClaim: 'username',
      groupsClaim: 'cognito:groups',
      httpApiAuthorizer: true,
      workerMinTasks: 0,
      workerMaxTasks: 2,
      workerConcurrency: 10,
      workerArchitecture: 'x86_64',
      leaseSeconds: 60,
      statusPollMs: 5000,
      logRetentionDays: 30,
      logBucketExpirationDays: 365,
      tableDeletionProtection: true,
      tableRemovalPolicy: 'retain',
      logBucketRemovalPolicy: 'retain',
      logLevel: 'INFO',
    } satisfies FlareConfig);
  });

  it('uses the OIDC claim defaults and no authorizer for an issuer without an audience', () => {
    // Act
    const config = configFrom(ISSUER);

    // Assess
    assert.deepEqual(config.auth, { kind: 'issuer', ...issuerFields() });
    assert.equal(config.usernameClaim, 'preferred_username');
    assert.equal(config.groupsClaim, 'groups');
    assert.equal(config.httpApiAuthorizer, false);
  });

  it('turns the authorizer on when the issuer comes with an audience', () => {
    // Act
    const config = configFrom({ ...ISSUER, [CONTEXT_KEYS.jwtAudience]: 'flare' });

    // Assess
    assert.deepEqual(config.auth, { kind: 'issuer', ...issuerFields(), audience: 'flare' });
    assert.equal(config.httpApiAuthorizer, true);
  });

  it('reads the string forms that -c key=value gives', () => {
    // Act
    const config = configFrom({
      ...POOL,
      [CONTEXT_KEYS.createUserPool]: 'true',
      [CONTEXT_KEYS.workerMinTasks]: '1',
      [CONTEXT_KEYS.workerMaxTasks]: '4',
      [CONTEXT_KEYS.logRetentionDays]: '90',
      [CONTEXT_KEYS.tableDeletionProtection]: 'false',
    });

    // Assess
    assert.equal(config.workerMinTasks, 1);
    assert.equal(config.workerMaxTasks, 4);
    assert.equal(config.logRetentionDays, 90);
    assert.equal(config.tableDeletionProtection, false);
  });

  it('raises the default maximum to a minimum above it', () => {
    // Act
    const config = configFrom({ ...POOL, [CONTEXT_KEYS.workerMinTasks]: 3 });

    // Assess
    assert.equal(config.workerMaxTasks, 3);
  });

  it('refuses a configuration without any token issuer', () => {
    assertRefused({}, /Set flare:jwtIssuer and flare:jwksUri .* or flare:createUserPool true/);
  });

  it('refuses an issuer without its JWKS URI', () => {
    assertRefused(
      { [CONTEXT_KEYS.jwtIssuer]: ISSUER[CONTEXT_KEYS.jwtIssuer] },
      /got issuer https:\/\/login\.example\.org\/realms\/science and JWKS URI unset/,
    );
  });

  it('refuses an issuer given together with the user pool', () => {
    assertRefused(
      { ...POOL, ...ISSUER },
      /flare:createUserPool is true, so flare:jwtIssuer and flare:jwksUri must not be set/,
    );
  });

  it('refuses an issuer that is not https', () => {
    assertRefused(
      { ...ISSUER, [CONTEXT_KEYS.jwtIssuer]: 'http://login.example.org' },
      /flare:jwtIssuer must be an https:\/\/ URL, got "http:\/\/login\.example\.org"/,
    );
  });

  it('refuses the authorizer without an audience to check', () => {
    assertRefused(
      { ...ISSUER, [CONTEXT_KEYS.httpApiAuthorizer]: true },
      /flare:httpApiAuthorizer needs an audience/,
    );
  });

  const outOfRange: [string, unknown, RegExp][] = [
    [CONTEXT_KEYS.workerMinTasks, -1, /must be a whole number from 0 to 20, got -1/],
    [CONTEXT_KEYS.workerMinTasks, 21, /must be a whole number from 0 to 20, got 21/],
    [CONTEXT_KEYS.workerMaxTasks, 0, /must be a whole number from 1 to 20, got 0/],
    [CONTEXT_KEYS.workerMaxTasks, 2.5, /must be a whole number from 1 to 20, got 2.5/],
    [CONTEXT_KEYS.workerConcurrency, 0, /must be a whole number from 1 to 50, got 0/],
    [CONTEXT_KEYS.workerConcurrency, 'many', /must be a whole number from 1 to 50, got "many"/],
    [CONTEXT_KEYS.leaseSeconds, 5, /must be a whole number from 15 to 900, got 5/],
    [CONTEXT_KEYS.statusPollMs, 100, /must be a whole number from 1000 to 60000, got 100/],
    [CONTEXT_KEYS.logRetentionDays, 10, /must be one of 1, 3, 5, 7, 14, 30, .*, 3653, got 10/],
    [CONTEXT_KEYS.logBucketExpirationDays, 4000, /must be a whole number from 0 to 3650, got 4000/],
    [CONTEXT_KEYS.tableDeletionProtection, 'yes', /must be true or false, got "yes"/],
    [CONTEXT_KEYS.tableRemovalPolicy, 'delete', /must be one of retain, destroy, got "delete"/],
    [CONTEXT_KEYS.logBucketRemovalPolicy, 1, /must be one of retain, destroy, got 1/],
    [CONTEXT_KEYS.workerArchitecture, 'amd64', /must be one of x86_64, arm64, got "amd64"/],
    [CONTEXT_KEYS.logLevel, 'verbose', /must be one of DEBUG, INFO, WARN, ERROR, SILENT/],
    [CONTEXT_KEYS.usernameClaim, ' sub', /must be a non-empty string without surrounding spaces/],
  ];
  for (const [key, value, message] of outOfRange) {
    it(`refuses ${key} = ${JSON.stringify(value)}, naming the allowed values`, () => {
      assertRefused({ ...POOL, [key]: value }, new RegExp(`^${key} ${message.source}`));
    });
  }

  it('refuses a maximum below the minimum', () => {
    assertRefused(
      { ...POOL, [CONTEXT_KEYS.workerMinTasks]: 4, [CONTEXT_KEYS.workerMaxTasks]: 2 },
      /flare:workerMaxTasks must be a whole number from 4 to 20, got 2/,
    );
  });

  it('refuses a user pool setting without the user pool', () => {
    assertRefused(
      { ...ISSUER, [CONTEXT_KEYS.userPoolRemovalPolicy]: 'destroy' },
      /flare:userPoolRemovalPolicy applies only with flare:createUserPool true/,
    );
  });

  it('refuses to destroy a table that is protected from deletion', () => {
    assertRefused(
      { ...POOL, [CONTEXT_KEYS.tableRemovalPolicy]: 'destroy' },
      /"destroy" needs flare:tableDeletionProtection false/,
    );
  });
});

function issuerFields() {
  return {
    issuer: ISSUER[CONTEXT_KEYS.jwtIssuer],
    jwksUri: ISSUER[CONTEXT_KEYS.jwksUri],
  };
}
