import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { JOB_TABLE_ATTRIBUTES, JOB_TABLE_INDEXES } from '../../adapters/aws/job-table';
import { CONTEXT_KEYS } from '../../infra/src/flare-config';
import { assertAwsSolutionsClean } from './helpers/security-checks';
import { type SynthesizedFlare, synthFlare } from './helpers/synth-flare';
import { onlyResource as only, type Props } from './helpers/template-queries';

/** The one key without a default: who issues tokens (here, a user pool the stack creates). */
const ONLY_REQUIRED = { [CONTEXT_KEYS.createUserPool]: true };
const FOURTEEN_DAYS_SECONDS = 14 * 24 * 3600;

describe('FlareStack with only the required context: data, network, users', () => {
  let synth: SynthesizedFlare;
  before(() => {
    synth = synthFlare(ONLY_REQUIRED);
  });
  after(() => synth.cleanUp());

  describe('job table', () => {
    it('declares the keys and indexes of the adapter, billed on demand', () => {
      // Act
      const [, table] = only(synth.template, 'AWS::DynamoDB::Table');

      // Assess
      assert.equal(table.Properties.BillingMode, 'PAY_PER_REQUEST');
      assert.deepEqual(table.Properties.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }]);
      assert.deepEqual(
        sortBy(table.Properties.AttributeDefinitions as Props[], 'AttributeName'),
        sortBy(
          JOB_TABLE_ATTRIBUTES.map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
          'AttributeName',
        ),
      );
      assert.deepEqual(
        table.Properties.GlobalSecondaryIndexes,
        JOB_TABLE_INDEXES.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      );
    });

    it('keeps point-in-time recovery, deletion protection and the table itself', () => {
      // Act
      const [, table] = only(synth.template, 'AWS::DynamoDB::Table');

      // Assess
      assert.deepEqual(table.Properties.PointInTimeRecoverySpecification, {
        PointInTimeRecoveryEnabled: true,
      });
      assert.equal(table.Properties.DeletionProtectionEnabled, true);
      assert.equal(table.DeletionPolicy, 'Retain');
      assert.equal(table.UpdateReplacePolicy, 'Retain');
    });
  });

  describe('job queue', () => {
    it('sends a message to the dead-letter queue after five receives', () => {
      // Act
      const queues = synth.template.findResources('AWS::SQS::Queue');
      const [dlqId] = Object.keys(queues).filter((id) => id.includes('DeadLetter'));

      // Assess
      synth.template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
          maxReceiveCount: 5,
        },
        VisibilityTimeout: 60,
        MessageRetentionPeriod: FOURTEEN_DAYS_SECONDS,
        SqsManagedSseEnabled: true,
      });
      synth.template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: Match.absent(),
        MessageRetentionPeriod: FOURTEEN_DAYS_SECONDS,
        SqsManagedSseEnabled: true,
      });
    });

    it('refuses plain HTTP on both queues', () => {
      // Act
      const policies = Object.values(synth.template.findResources('AWS::SQS::QueuePolicy'));

      // Assess
      assert.equal(policies.length, 2);
      for (const policy of policies) {
        assert.deepEqual(policy.Properties.PolicyDocument.Statement[0].Condition, {
          Bool: { 'aws:SecureTransport': 'false' },
        });
        assert.equal(policy.Properties.PolicyDocument.Statement[0].Effect, 'Deny');
      }
    });

    it('raises an alarm as soon as one message is in the dead-letter queue', () => {
      // Assess
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetter'), 'QueueName'] },
          },
        ],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });
  });

  describe('log bucket', () => {
    it('is private, encrypted, TLS only, unversioned and retained', () => {
      // Act
      const [id, bucket] = only(synth.template, 'AWS::S3::Bucket');
      const [, policy] = only(synth.template, 'AWS::S3::BucketPolicy');

      // Assess
      assert.deepEqual(bucket.Properties.BucketEncryption, {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      });
      assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      assert.equal(bucket.Properties.VersioningConfiguration, undefined);
      assert.equal(bucket.DeletionPolicy, 'Retain');
      const statement = (policy.Properties.PolicyDocument as { Statement: Props[] }).Statement[0];
      assert.equal(statement?.Effect, 'Deny');
      assert.equal(statement?.Action, 's3:*');
      assert.deepEqual(statement?.Condition, { Bool: { 'aws:SecureTransport': 'false' } });
      assert.deepEqual(policy.Properties.Bucket, { Ref: id });
    });

    it('expires job logs after a year and aborts stale uploads after a day', () => {
      // Act
      const [, bucket] = only(synth.template, 'AWS::S3::Bucket');

      // Assess
      assert.deepEqual(bucket.Properties.LifecycleConfiguration, {
        Rules: [
          {
            Id: 'abort-incomplete-uploads',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          },
          { Id: 'expire-job-logs', Prefix: 'logs/', ExpirationInDays: 365, Status: 'Enabled' },
        ],
      });
    });
  });

  it('keeps every log group for 30 days', () => {
    // Act
    const groups = Object.values(synth.template.findResources('AWS::Logs::LogGroup'));

    // Assess: nine route functions, the access log, the job log group and the worker.
    assert.equal(groups.length, 12);
    for (const group of groups) assert.equal(group.Properties.RetentionInDays, 30);
  });

  describe('network', () => {
    it('uses public subnets only, with no NAT gateway and no inbound rule', () => {
      // Act
      const subnets = Object.values(synth.template.findResources('AWS::EC2::Subnet'));
      const [, group] = only(synth.template, 'AWS::EC2::SecurityGroup');

      // Assess
      synth.template.resourceCountIs('AWS::EC2::NatGateway', 0);
      assert.equal(subnets.length, 2);
      for (const subnet of subnets) assert.equal(subnet.Properties.MapPublicIpOnLaunch, true);
      assert.equal(group.Properties.SecurityGroupIngress, undefined);
      synth.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    });
  });

  describe('user pool', () => {
    it('lets only the operator create users, who sign in with a strong password', () => {
      // Act
      const [, pool] = only(synth.template, 'AWS::Cognito::UserPool');
      const [, client] = only(synth.template, 'AWS::Cognito::UserPoolClient');

      // Assess
      assert.deepEqual(pool.Properties.AdminCreateUserConfig, { AllowAdminCreateUserOnly: true });
      assert.deepEqual(pool.Properties.Policies, {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          RequireUppercase: true,
        },
      });
      assert.equal(pool.DeletionPolicy, 'Retain');
      assert.deepEqual(client.Properties.ExplicitAuthFlows, [
        'ALLOW_USER_PASSWORD_AUTH',
        'ALLOW_REFRESH_TOKEN_AUTH',
      ]);
      assert.equal(client.Properties.GenerateSecret, false);
    });
  });

  it('outputs the API URL ending in /api/v1 and the user pool ids', () => {
    // Act
    const outputs = synth.template.findOutputs('*');

    // Assess
    assert.deepEqual(outputs.ApiUrl?.Value, {
      'Fn::Join': [
        '',
        [
          { 'Fn::GetAtt': [only(synth.template, 'AWS::ApiGatewayV2::Api')[0], 'ApiEndpoint'] },
          '/api/v1',
        ],
      ],
    });
    assert.deepEqual(outputs.UserPoolId?.Value, {
      Ref: only(synth.template, 'AWS::Cognito::UserPool')[0],
    });
    assert.deepEqual(outputs.UserPoolClientId?.Value, {
      Ref: only(synth.template, 'AWS::Cognito::UserPoolClient')[0],
    });
  });

  it('passes cdk-nag’s AwsSolutions checks with only reasoned acknowledgments', () => {
    assertAwsSolutionsClean(synth.app);
  });
});

function sortBy<T extends Props>(items: readonly T[], key: string): T[] {
  return [...items].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
}
