import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StartupError } from '../../core/src/errors';
import { readAwsApiConfig } from '../../functions/src/lambda/aws-api-config';

const QUEUE_URL = 'https://sqs.eu-west-2.amazonaws.com/123456789012/flare-jobs';
const ISSUER = 'https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_abc123';

/** The environment a deployed create-job function gets, with only the required variables. */
const REQUIRED = {
  AWS_REGION: 'eu-west-2',
  FLARE_TABLE_NAME: 'flare-jobs',
  FLARE_QUEUE_URL: QUEUE_URL,
  FLARE_LOG_BUCKET: 'flare-logs-123456789012',
  FLARE_JOB_LOG_GROUP: '/flare/jobs',
  FLARE_ROUTE: 'create-job',
  FLARE_JWT_ISSUER: ISSUER,
  FLARE_JWKS_URI: `${ISSUER}/.well-known/jwks.json`,
} as const;

function rejection(env: Record<string, string | undefined>): string {
  try {
    readAwsApiConfig(env);
  } catch (error) {
    assert.ok(error instanceof StartupError, String(error));
    return error.message;
  }
  assert.fail('the environment was accepted');
}

describe('readAwsApiConfig', () => {
  it('reads the required variables and fills in the documented defaults', () => {
    // Act
    const config = readAwsApiConfig(REQUIRED);

    // Assess
    assert.deepEqual(config, {
      region: 'eu-west-2',
      tableName: 'flare-jobs',
      queueUrl: QUEUE_URL,
      logBucket: 'flare-logs-123456789012',
      jobLogGroupName: '/flare/jobs',
      logLevel: 'INFO',
      routeName: 'create-job',
      basePath: '/api/v1',
      auth: {
        issuer: ISSUER,
        jwksUri: `${ISSUER}/.well-known/jwks.json`,
        audience: null,
        usernameClaim: 'preferred_username',
        groupsClaim: 'groups',
      },
    });
  });

  it('takes every optional variable as given', () => {
    // Act
    const config = readAwsApiConfig({
      ...REQUIRED,
      FLARE_LOG_LEVEL: 'debug',
      FLARE_BASE_PATH: '/prominence/v1/',
      FLARE_JWT_AUDIENCE: 'flare-client',
      FLARE_USERNAME_CLAIM: 'email',
      FLARE_GROUPS_CLAIM: 'cognito:groups',
    });

    // Assess
    assert.equal(config.logLevel, 'DEBUG');
    assert.equal(config.basePath, '/prominence/v1');
    assert.equal(config.auth.audience, 'flare-client');
    assert.equal(config.auth.usernameClaim, 'email');
    assert.equal(config.auth.groupsClaim, 'cognito:groups');
  });

  it('names every missing variable in one error', () => {
    // Act
    const message = rejection({ AWS_REGION: 'eu-west-2', FLARE_ROUTE: 'health' });

    // Assess
    assert.equal(
      message,
      "The function's environment is not valid: FLARE_TABLE_NAME is not set; " +
        'FLARE_QUEUE_URL is not set; FLARE_LOG_BUCKET is not set; ' +
        'FLARE_JOB_LOG_GROUP is not set; FLARE_JWT_ISSUER is not set; FLARE_JWKS_URI is not set',
    );
  });

  it('refuses an unknown route, listing the known ones', () => {
    // Act
    const message = rejection({ ...REQUIRED, FLARE_ROUTE: 'list-everything' });

    // Assess
    assert.match(message, /FLARE_ROUTE must be one of health, create-job, list-jobs, /);
    assert.match(message, /job-stderr \(got list-everything\)$/);
  });

  const invalid: [string, string, RegExp][] = [
    ['AWS_REGION', 'Europe', /AWS_REGION must be an AWS region \(got Europe\)/],
    ['FLARE_TABLE_NAME', 'a', /FLARE_TABLE_NAME must be a table name/],
    ['FLARE_QUEUE_URL', 'flare-jobs', /FLARE_QUEUE_URL must be a URL starting with https:\/\//],
    ['FLARE_LOG_BUCKET', 'Flare_Logs', /FLARE_LOG_BUCKET must be an S3 bucket name/],
    ['FLARE_JOB_LOG_GROUP', 'jobs log', /FLARE_JOB_LOG_GROUP must be a CloudWatch Logs group/],
    ['FLARE_LOG_LEVEL', 'loud', /FLARE_LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN/],
    ['FLARE_BASE_PATH', 'api/v1', /FLARE_BASE_PATH must start with \/ \(got api\/v1\)/],
    [
      'FLARE_JWKS_URI',
      'http://issuer.example/jwks.json',
      /FLARE_JWKS_URI must be a URL starting with https:\/\/ \(got http:/,
    ],
  ];
  for (const [name, value, expected] of invalid) {
    it(`refuses ${name}=${value}, naming the variable`, () => {
      // Act
      const message = rejection({ ...REQUIRED, [name]: value });

      // Assess
      assert.match(message, expected);
    });
  }

  it('treats empty optional variables as unset', () => {
    // Act
    const config = readAwsApiConfig({
      ...REQUIRED,
      FLARE_JWT_AUDIENCE: '',
      FLARE_LOG_LEVEL: ' ',
      FLARE_USERNAME_CLAIM: '',
    });

    // Assess
    assert.equal(config.auth.audience, null);
    assert.equal(config.logLevel, 'INFO');
    assert.equal(config.auth.usernameClaim, 'preferred_username');
  });
});
