import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The one Lambda entry file; `FLARE_ROUTE` tells it which route it serves. */
export const ROUTE_HANDLER_ENTRY = fileURLToPath(
  new URL('../../functions/src/lambda/route-handler.ts', import.meta.url),
);
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/**
 * The newest Node.js runtime AWS documents as generally available for Lambda (supported to
 * April 2028); the contract's floor is nodejs22.x.
 */
export const ROUTE_RUNTIME = Runtime.NODEJS_24_X;

/**
 * esbuild options shared by every route function (they bundle the same entry, so CDK bundles
 * once and reuses the asset). The SDK is bundled rather than taken from the runtime: its
 * version is then the one the tests ran with, and tree shaking keeps only the clients used.
 */
export const ROUTE_BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  sourceMap: true,
  // Stack traces need names and lines, not the sources: leaving them out halves the package.
  sourcesContent: false,
  bundleAwsSDK: true,
  mainFields: ['module', 'main'],
  // Some dependencies are CommonJS and call require(), which ESM output lacks.
  banner: "import{createRequire}from'node:module';const require=createRequire(import.meta.url);",
  // The local esbuild (a devDependency) bundles; Docker is never needed to synthesize.
  forceDockerBundling: false,
} as const;

export interface RouteFunctionProps {
  readonly routeName: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
}

/**
 * One route's function with its own log group and its own role: the role starts with the
 * right to write that log group only, and the caller adds what the route's handler calls.
 */
export function createRouteFunction(
  scope: Construct,
  id: string,
  props: RouteFunctionProps,
): { readonly fn: NodejsFunction; readonly role: Role } {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(scope, `${id}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: `Flare API route ${props.routeName}`,
  });
  logGroup.grant(role, 'logs:CreateLogStream', 'logs:PutLogEvents');

  const fn = new NodejsFunction(scope, `${id}Function`, {
    entry: ROUTE_HANDLER_ENTRY,
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    runtime: ROUTE_RUNTIME,
    architecture: Architecture.ARM_64,
    // More memory also means more CPU, which shortens the cold start's RS256 and JSON work.
    memorySize: 512,
    // API Gateway gives up on an integration after 30 seconds.
    timeout: Duration.seconds(25),
    role,
    logGroup,
    description: `Flare API route ${props.routeName}`,
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    bundling: { ...ROUTE_BUNDLING, mainFields: [...ROUTE_BUNDLING.mainFields] },
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'nodejs24.x is the newest Node.js runtime AWS documents as generally available, supported ' +
      'to 2028; the aws-cdk-lib in use also lists nodejs26.x, which the bundle target and the ' +
      'tests have not been run on',
  });
  return { fn, role };
}
