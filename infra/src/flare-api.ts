import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES } from '../../functions/src/routes';
import type { TokenSettings } from './flare-auth';
import type { LogLevel } from './flare-config';
import { createRouteFunction } from './route-function';
import { grantRouteAccess, type RouteResources } from './route-permissions';

/** The API's path prefix, as PROMINENCE clients expect it. */
export const BASE_PATH = '/api/v1';

/** Routes anyone may call: API Gateway checks no token on them. */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['health']);

export interface FlareApiProps {
  readonly resources: RouteResources;
  readonly tokens: TokenSettings;
  /**
   * The audience API Gateway's JWT authorizer checks on every route but the public ones.
   * The handlers verify tokens whether or not this is set.
   * @default no authorizer
   */
  readonly authorizerAudience?: string;
  readonly logRetention: RetentionDays;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** Steady-state requests per second across the API, a guard against runaway bills. @default 50 */
  readonly rateLimit?: number;
  /** @default 100 */
  readonly burstLimit?: number;
}

/**
 * The HTTP API: one route per entry of ROUTES under /api/v1, each served by its own function
 * (the same bundle, told its route by FLARE_ROUTE) holding only the permissions its handler
 * uses.
 */
export class FlareApi extends Construct {
  readonly httpApi: HttpApi;
  /** The base URL clients use, ending in /api/v1. */
  readonly url: string;
  readonly functions: ReadonlyMap<string, NodejsFunction>;

  constructor(scope: Construct, id: string, props: FlareApiProps) {
    super(scope, id);
    const { resources, tokens } = props;

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Flare: the PROMINENCE jobs API',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 50, burstLimit: props.burstLimit ?? 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.url = `${this.httpApi.apiEndpoint}${BASE_PATH}`;

    const authorizer: IHttpRouteAuthorizer =
      props.authorizerAudience === undefined
        ? new HttpNoneAuthorizer()
        : new HttpJwtAuthorizer('JwtAuthorizer', tokens.issuer, {
            jwtAudience: [props.authorizerAudience],
          });

    const environment = {
      FLARE_TABLE_NAME: resources.table.tableName,
      FLARE_QUEUE_URL: resources.queue.queueUrl,
      FLARE_LOG_BUCKET: resources.logBucket.bucketName,
      FLARE_JOB_LOG_GROUP: resources.jobLogGroup.logGroupName,
      FLARE_LOG_LEVEL: props.logLevel ?? 'INFO',
      FLARE_BASE_PATH: BASE_PATH,
      FLARE_JWT_ISSUER: tokens.issuer,
      FLARE_JWKS_URI: tokens.jwksUri,
      ...(tokens.audience === undefined ? {} : { FLARE_JWT_AUDIENCE: tokens.audience }),
      FLARE_USERNAME_CLAIM: tokens.usernameClaim,
      FLARE_GROUPS_CLAIM: tokens.groupsClaim,
    };

    const functions = new Map<string, NodejsFunction>();
    for (const route of ROUTES) {
      const id = pascalCase(route.name);
      const { fn, role } = createRouteFunction(this, id, {
        routeName: route.name,
        environment: { ...environment, FLARE_ROUTE: route.name },
        logRetention: props.logRetention,
      });
      grantRouteAccess(route.name, role, resources);
      const isPublic = PUBLIC_ROUTES.has(route.name);
      const [created] = this.httpApi.addRoutes({
        path: `${BASE_PATH}${route.path}`,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${id}Integration`, fn),
        authorizer: isPublic ? new HttpNoneAuthorizer() : authorizer,
      });
      if (created && (isPublic || props.authorizerAudience === undefined)) {
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: isPublic
            ? 'The health check is public by design, as on the PROMINENCE service'
            : 'The handler verifies the bearer token itself (aws-jwt-verify against the ' +
              "issuer's JWKS); API Gateway's JWT authorizer needs an audience, and none is set",
        });
      }
      functions.set(route.name, fn);
    }
    this.functions = functions;
  }
}

/** JSON access log lines: who called what, how it went, how long it took; no headers. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTimeEpoch',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
