import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROUTES } from '../../functions/src/routes';
import { CONTEXT_KEYS } from '../../infra/src/flare-config';
import {
  EXPECTED_JOB_ROLE_ACTIONS,
  EXPECTED_ROUTE_ACTIONS,
  EXPECTED_WORKER_ACTIONS,
  LAMBDA_ENV_KEYS,
  WORKER_ENV_KEYS,
} from './helpers/expected-access';
import { actionsOfRole, policyStatements, roleOfFunction } from './helpers/iam-statements';
import {
  assertAnyResourceOnlyWhereUnavoidable,
  assertListTasksHeldToCluster,
  assertNoWildcardActions,
} from './helpers/security-checks';
import { assetManifest, type SynthesizedFlare, synthFlare } from './helpers/synth-flare';
import {
  cognitoIssuer,
  containerEnv,
  functionEnv,
  onlyResource as only,
  routeFunctions,
} from './helpers/template-queries';

const ONLY_REQUIRED = { [CONTEXT_KEYS.createUserPool]: true };

describe('FlareStack with only the required context: API, IAM, worker', () => {
  let synth: SynthesizedFlare;
  before(() => {
    synth = synthFlare(ONLY_REQUIRED);
  });
  after(() => synth.cleanUp());

  describe('API', () => {
    it('has one route per entry of ROUTES under /api/v1, each with its own function', () => {
      // Act
      const routes = Object.values(synth.template.findResources('AWS::ApiGatewayV2::Route'));

      // Assess
      assert.deepEqual(
        routes.map((route) => route.Properties.RouteKey).sort(),
        ROUTES.map((route) => `${route.method} /api/v1${route.path}`).sort(),
      );
      assert.deepEqual(
        routeFunctions(synth.template)
          .map(([, fn]) => functionEnv(fn).FLARE_ROUTE)
          .sort(),
        ROUTES.map((route) => route.name).sort(),
      );
    });

    it('checks a JWT on every route but the health check', () => {
      // Act
      const routes = Object.values(synth.template.findResources('AWS::ApiGatewayV2::Route'));
      const [authorizerId, authorizer] = only(synth.template, 'AWS::ApiGatewayV2::Authorizer');

      // Assess
      for (const route of routes) {
        const isHealth = route.Properties.RouteKey === 'GET /api/v1/health';
        assert.equal(route.Properties.AuthorizationType, isHealth ? 'NONE' : 'JWT');
        assert.deepEqual(
          route.Properties.AuthorizerId,
          isHealth ? undefined : { Ref: authorizerId },
        );
      }
      assert.equal(authorizer.Properties.AuthorizerType, 'JWT');
      assert.deepEqual(authorizer.Properties.JwtConfiguration, {
        Audience: [{ Ref: only(synth.template, 'AWS::Cognito::UserPoolClient')[0] }],
        Issuer: cognitoIssuer(only(synth.template, 'AWS::Cognito::UserPool')[0]),
      });
    });

    it('runs the functions on arm64 Node.js 24 with the contract’s environment', () => {
      // Act
      const functions = routeFunctions(synth.template);

      // Assess
      assert.equal(functions.length, ROUTES.length);
      for (const [, fn] of functions) {
        assert.equal(fn.Properties.Runtime, 'nodejs24.x');
        assert.deepEqual(fn.Properties.Architectures, ['arm64']);
        assert.equal(fn.Properties.Handler, 'index.handler');
        assert.equal(fn.Properties.MemorySize, 512);
        assert.equal(fn.Properties.Timeout, 25);
        const env = functionEnv(fn);
        assert.deepEqual(Object.keys(env).sort(), [...LAMBDA_ENV_KEYS].sort());
        assert.equal(env.FLARE_BASE_PATH, '/api/v1');
        assert.equal(env.FLARE_USERNAME_CLAIM, 'username');
        assert.equal(env.FLARE_GROUPS_CLAIM, 'cognito:groups');
        assert.equal(env.FLARE_LOG_LEVEL, 'INFO');
        assert.deepEqual(
          env.FLARE_JWT_ISSUER,
          cognitoIssuer(only(synth.template, 'AWS::Cognito::UserPool')[0]),
        );
        assert.equal(env.NODE_OPTIONS, '--enable-source-maps');
      }
    });

    it('bundles the route handler once, as minified ESM with a source map', () => {
      // Act
      const keys = new Set(
        routeFunctions(synth.template).map(
          ([, fn]) => (fn.Properties.Code as { S3Key: string }).S3Key,
        ),
      );
      const [key] = keys;
      const asset = assetManifest(synth).files[String(key).replace(/\.zip$/, '')];
      const dir = join(synth.outdir, asset?.source.path ?? 'missing');

      // Assess
      assert.equal(keys.size, 1);
      assert.equal(asset?.source.packaging, 'zip');
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      assert.ok(existsSync(join(dir, 'index.mjs.map')));
      assert.match(code, /^import\{createRequire\}from'node:module';/);
      assert.ok(code.length / code.split('\n').length > 1000, 'minified: long lines, no indents');
      assert.ok(statSync(join(dir, 'index.mjs')).size < 3 * 1024 * 1024);
    });

    it('logs every request as JSON and throttles the stage', () => {
      // Act
      const [, stage] = only(synth.template, 'AWS::ApiGatewayV2::Stage');

      // Assess
      assert.equal(stage.Properties.StageName, '$default');
      assert.equal(stage.Properties.AutoDeploy, true);
      assert.deepEqual(stage.Properties.DefaultRouteSettings, {
        ThrottlingBurstLimit: 100,
        ThrottlingRateLimit: 50,
      });
      const settings = stage.Properties.AccessLogSettings as { Format: string };
      assert.equal(JSON.parse(settings.Format).requestId, '$context.requestId');
    });
  });

  describe('IAM', () => {
    it('grants each route function exactly what its handler calls', () => {
      // Arrange
      const statements = policyStatements(synth.template);

      // Act
      const granted = Object.fromEntries(
        routeFunctions(synth.template).map(([id, fn]) => [
          functionEnv(fn).FLARE_ROUTE,
          actionsOfRole(statements, roleOfFunction(synth.template, id)),
        ]),
      );

      // Assess
      const expected = Object.fromEntries(
        Object.entries(EXPECTED_ROUTE_ACTIONS).map(([route, actions]) => [
          route,
          [...actions].sort(),
        ]),
      );
      assert.deepEqual(granted, expected);
    });

    it('grants the worker what it calls, and the job tasks only their log group', () => {
      // Arrange
      const statements = policyStatements(synth.template);
      const [, task] = only(synth.template, 'AWS::ECS::TaskDefinition');
      const env = containerEnv(task);
      const roleOf = (value: unknown) => (value as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];

      // Act
      const worker = actionsOfRole(statements, roleOf(task.Properties.TaskRoleArn));
      const jobExecution = actionsOfRole(statements, roleOf(env.FLARE_TASK_EXECUTION_ROLE_ARN));
      const jobTask = actionsOfRole(statements, roleOf(env.FLARE_JOB_TASK_ROLE_ARN));

      // Assess
      assert.deepEqual(worker, [...EXPECTED_WORKER_ACTIONS].sort());
      assert.deepEqual(jobExecution, [...EXPECTED_JOB_ROLE_ACTIONS].sort());
      assert.deepEqual(jobTask, [...EXPECTED_JOB_ROLE_ACTIONS].sort());
    });

    it('lets the job task roles be passed by the worker and assumed by ECS tasks only', () => {
      // Arrange
      const [, task] = only(synth.template, 'AWS::ECS::TaskDefinition');
      const env = containerEnv(task);
      const passRole = policyStatements(synth.template).find((statement) =>
        statement.actions.includes('iam:PassRole'),
      );

      // Assess
      assert.deepEqual(passRole?.resources, [
        env.FLARE_TASK_EXECUTION_ROLE_ARN,
        env.FLARE_JOB_TASK_ROLE_ARN,
      ]);
      for (const arn of [env.FLARE_TASK_EXECUTION_ROLE_ARN, env.FLARE_JOB_TASK_ROLE_ARN]) {
        const id = (arn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
        const role = synth.template.toJSON().Resources[id];
        assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement, [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'ecs-tasks.amazonaws.com' },
          },
        ]);
      }
    });

    it('allows no wildcard action anywhere', () => {
      assertNoWildcardActions(synth.template);
    });

    it('allows `*` resources only for actions without resource-level permissions', () => {
      assertAnyResourceOnlyWhereUnavoidable(synth.template);
      assertListTasksHeldToCluster(synth.template);
    });
  });

  describe('worker', () => {
    it('runs the worker image with Container Insights on, scaled from zero to two', () => {
      // Act
      const [, cluster] = only(synth.template, 'AWS::ECS::Cluster');
      const [, service] = only(synth.template, 'AWS::ECS::Service');
      const [, target] = only(synth.template, 'AWS::ApplicationAutoScaling::ScalableTarget');

      // Assess
      assert.deepEqual(cluster.Properties.ClusterSettings, [
        { Name: 'containerInsights', Value: 'enabled' },
      ]);
      assert.equal(service.Properties.LaunchType, 'FARGATE');
      assert.equal(service.Properties.DesiredCount, 0);
      assert.deepEqual(service.Properties.DeploymentConfiguration, {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MaximumPercent: 200,
        MinimumHealthyPercent: 100,
      });
      const network = service.Properties.NetworkConfiguration as {
        AwsvpcConfiguration: { AssignPublicIp: string };
      };
      assert.equal(network.AwsvpcConfiguration.AssignPublicIp, 'ENABLED');
      assert.equal(target.Properties.MinCapacity, 0);
      assert.equal(target.Properties.MaxCapacity, 2);
    });

    it('gives the worker container the contract’s environment', () => {
      // Act
      const [, task] = only(synth.template, 'AWS::ECS::TaskDefinition');
      const [container] = task.Properties.ContainerDefinitions as { StopTimeout: number }[];
      const env = containerEnv(task);

      // Assess
      assert.deepEqual(task.Properties.RuntimePlatform, {
        CpuArchitecture: 'X86_64',
        OperatingSystemFamily: 'LINUX',
      });
      assert.equal(task.Properties.Cpu, '256');
      assert.equal(task.Properties.Memory, '512');
      assert.deepEqual(Object.keys(env).sort(), [...WORKER_ENV_KEYS].sort());
      assert.equal(env.FLARE_ASSIGN_PUBLIC_IP, 'true');
      assert.equal(env.FLARE_WORKER_CONCURRENCY, '10');
      assert.equal(env.FLARE_LEASE_SECONDS, '60');
      assert.equal(env.FLARE_STATUS_POLL_MS, '5000');
      assert.equal(env.FLARE_TASK_FAMILY_PREFIX, 'Flare-job');
      assert.match(String(env.FLARE_LOG_ROUTER_IMAGE), /aws-for-fluent-bit:init-/);
      assert.equal(container?.StopTimeout, 30);
    });

    it('builds the worker image from worker/Dockerfile with the repository as context', () => {
      // Act
      const images = Object.values(assetManifest(synth).dockerImages);
      const staged = join(synth.outdir, images[0]?.source.directory ?? 'missing');

      // Assess
      assert.equal(images.length, 1);
      assert.equal(images[0]?.source.dockerFile, 'worker/Dockerfile');
      assert.equal(images[0]?.source.platform, 'linux/amd64');
      assert.ok(existsSync(join(staged, 'worker', 'Dockerfile')));
      assert.ok(existsSync(join(staged, 'package-lock.json')));
      assert.ok(!existsSync(join(staged, 'node_modules')), '.dockerignore keeps node_modules out');
    });
  });
});
