import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONTEXT_KEYS } from '../../infra/src/flare-config';
import {
  assertAnyResourceOnlyWhereUnavoidable,
  assertAwsSolutionsClean,
  assertListTasksHeldToCluster,
  assertNoWildcardActions,
} from './helpers/security-checks';
import { assetManifest, type SynthesizedFlare, synthFlare } from './helpers/synth-flare';
import {
  containerEnv,
  functionEnv,
  onlyResource,
  resourcesOf,
  routeFunctions,
} from './helpers/template-queries';

const ISSUER = 'https://login.example.org/realms/science';

/** Every key the app reads, each away from its default (the OIDC form of auth). */
const ALL_CONTEXT = {
  [CONTEXT_KEYS.createUserPool]: false,
  [CONTEXT_KEYS.jwtIssuer]: ISSUER,
  [CONTEXT_KEYS.jwksUri]: `${ISSUER}/protocol/openid-connect/certs`,
  [CONTEXT_KEYS.jwtAudience]: 'flare-api',
  [CONTEXT_KEYS.usernameClaim]: 'email',
  [CONTEXT_KEYS.groupsClaim]: 'roles',
  [CONTEXT_KEYS.httpApiAuthorizer]: true,
  [CONTEXT_KEYS.workerMinTasks]: 1,
  [CONTEXT_KEYS.workerMaxTasks]: 4,
  [CONTEXT_KEYS.workerConcurrency]: 5,
  [CONTEXT_KEYS.workerArchitecture]: 'arm64',
  [CONTEXT_KEYS.leaseSeconds]: 120,
  [CONTEXT_KEYS.statusPollMs]: 3000,
  [CONTEXT_KEYS.logRetentionDays]: 90,
  [CONTEXT_KEYS.logBucketExpirationDays]: 0,
  [CONTEXT_KEYS.tableDeletionProtection]: false,
  [CONTEXT_KEYS.tableRemovalPolicy]: 'destroy',
  [CONTEXT_KEYS.logBucketRemovalPolicy]: 'destroy',
  [CONTEXT_KEYS.logLevel]: 'DEBUG',
};

describe('FlareStack with every context key set', () => {
  let synth: SynthesizedFlare;
  before(() => {
    synth = synthFlare(ALL_CONTEXT);
  });
  after(() => synth.cleanUp());

  const only = (type: string) => onlyResource(synth.template, type)[1];

  it('checks tokens of the given issuer, in API Gateway and in the handlers', () => {
    // Act
    const authorizer = only('AWS::ApiGatewayV2::Authorizer');
    const functions = routeFunctions(synth.template);

    // Assess
    assert.deepEqual(authorizer.Properties.JwtConfiguration, {
      Audience: ['flare-api'],
      Issuer: ISSUER,
    });
    assert.equal(functions.length, 9);
    for (const [, fn] of functions) {
      const env = functionEnv(fn);
      assert.equal(env.FLARE_JWT_ISSUER, ISSUER);
      assert.equal(env.FLARE_JWKS_URI, `${ISSUER}/protocol/openid-connect/certs`);
      assert.equal(env.FLARE_JWT_AUDIENCE, 'flare-api');
      assert.equal(env.FLARE_USERNAME_CLAIM, 'email');
      assert.equal(env.FLARE_GROUPS_CLAIM, 'roles');
      assert.equal(env.FLARE_LOG_LEVEL, 'DEBUG');
    }
  });

  it('creates no user pool and outputs only the API URL', () => {
    // Assess
    synth.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    assert.deepEqual(Object.keys(synth.template.findOutputs('*')), ['ApiUrl']);
  });

  it('lets the table and the log bucket go with the stack', () => {
    // Act
    const table = only('AWS::DynamoDB::Table');
    const bucket = only('AWS::S3::Bucket');

    // Assess
    assert.equal(table.Properties.DeletionProtectionEnabled, false);
    assert.equal(table.DeletionPolicy, 'Delete');
    assert.equal(bucket.DeletionPolicy, 'Delete');
    synth.template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });

  it('keeps job logs in the bucket for good when their expiry is 0', () => {
    // Act
    const bucket = only('AWS::S3::Bucket');

    // Assess
    assert.deepEqual(bucket.Properties.LifecycleConfiguration, {
      Rules: [
        {
          Id: 'abort-incomplete-uploads',
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          Status: 'Enabled',
        },
      ],
    });
  });

  it('keeps every log group for the given retention', () => {
    for (const [, group] of resourcesOf(synth.template, 'AWS::Logs::LogGroup')) {
      assert.equal(group.Properties.RetentionInDays, 90);
    }
  });

  it('runs one to four arm64 workers of five jobs each', () => {
    // Act
    const service = only('AWS::ECS::Service');
    const target = only('AWS::ApplicationAutoScaling::ScalableTarget');
    const task = only('AWS::ECS::TaskDefinition');
    const env = containerEnv(task);
    const [image] = Object.values(assetManifest(synth).dockerImages);

    // Assess
    assert.equal(service.Properties.DesiredCount, 1);
    assert.equal(target.Properties.MinCapacity, 1);
    assert.equal(target.Properties.MaxCapacity, 4);
    assert.deepEqual(task.Properties.RuntimePlatform, {
      CpuArchitecture: 'ARM64',
      OperatingSystemFamily: 'LINUX',
    });
    assert.equal(image?.source.platform, 'linux/arm64');
    assert.equal(env.FLARE_WORKER_CONCURRENCY, '5');
    assert.equal(env.FLARE_LEASE_SECONDS, '120');
    assert.equal(env.FLARE_STATUS_POLL_MS, '3000');
    assert.equal(env.FLARE_LOG_LEVEL, 'DEBUG');
    synth.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      StepScalingPolicyConfiguration: {
        AdjustmentType: 'ExactCapacity',
        StepAdjustments: [
          { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 5, ScalingAdjustment: 1 },
          { MetricIntervalLowerBound: 5, MetricIntervalUpperBound: 10, ScalingAdjustment: 2 },
          { MetricIntervalLowerBound: 10, MetricIntervalUpperBound: 15, ScalingAdjustment: 3 },
          { MetricIntervalLowerBound: 15, ScalingAdjustment: 4 },
        ],
      },
    });
    synth.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      StepScalingPolicyConfiguration: {
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 1 }],
      },
    });
  });

  it('allows no wildcard action and `*` resources only where unavoidable', () => {
    assertNoWildcardActions(synth.template);
    assertAnyResourceOnlyWhereUnavoidable(synth.template);
    assertListTasksHeldToCluster(synth.template);
  });

  it('passes cdk-nag’s AwsSolutions checks with only reasoned acknowledgments', () => {
    assertAwsSolutionsClean(synth.app);
  });
});
