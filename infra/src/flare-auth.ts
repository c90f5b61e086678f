import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  FeaturePlan,
  Mfa,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { FlareConfig } from './flare-config';

/** What the handlers and the HTTP API's authorizer check tokens against. */
export interface TokenSettings {
  readonly issuer: string;
  readonly jwksUri: string;
  /** `undefined`: the handlers accept any audience. */
  readonly audience: string | undefined;
  readonly usernameClaim: string;
  readonly groupsClaim: string;
}

export interface FlareAuthProps {
  readonly config: Pick<FlareConfig, 'auth' | 'usernameClaim' | 'groupsClaim'>;
}

/**
 * Token settings for the API: an existing OIDC issuer's, or those of a Cognito user pool
 * created here, with one app client that signs in by user name and password (README shows
 * how an operator adds users and gets a token).
 */
export class FlareAuth extends Construct {
  readonly tokens: TokenSettings;
  /** The audience API Gateway's JWT authorizer checks, when there is one. */
  readonly authorizerAudience: string | undefined;
  readonly userPool: UserPool | undefined;
  readonly userPoolClient: UserPoolClient | undefined;

  constructor(scope: Construct, id: string, props: FlareAuthProps) {
    super(scope, id);
    const { auth, usernameClaim, groupsClaim } = props.config;

    if (auth.kind === 'issuer') {
      this.tokens = {
        issuer: auth.issuer,
        jwksUri: auth.jwksUri,
        audience: auth.audience,
        usernameClaim,
        groupsClaim,
      };
      this.authorizerAudience = auth.audience;
      this.userPool = undefined;
      this.userPoolClient = undefined;
      return;
    }

    const pool = new UserPool(this, 'UserPool', {
      // The operator creates users; nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
      },
      mfa: Mfa.OFF,
      accountRecovery: AccountRecovery.NONE,
      featurePlan: FeaturePlan.LITE,
      removalPolicy:
        auth.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    const client = pool.addClient('CliClient', {
      authFlows: { userPassword: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });

    // Cognito's access tokens carry the client id in `client_id` and no `aud`, so the
    // handlers check no audience; API Gateway's authorizer checks `client_id` instead.
    const issuer = `https://cognito-idp.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${pool.userPoolId}`;
    this.tokens = {
      issuer,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      audience: undefined,
      usernameClaim,
      groupsClaim,
    };
    this.authorizerAudience = client.userPoolClientId;
    this.userPool = pool;
    this.userPoolClient = client;

    new CfnOutput(Stack.of(this), 'UserPoolId', {
      value: pool.userPoolId,
      description: 'Cognito user pool of Flare users (aws cognito-idp admin-create-user)',
    });
    new CfnOutput(Stack.of(this), 'UserPoolClientId', {
      value: client.userPoolClientId,
      description: 'App client to sign in with (aws cognito-idp initiate-auth)',
    });

    acknowledgeUserPoolRules(pool);
  }
}

function acknowledgeUserPoolRules(pool: UserPool): void {
  Validations.of(pool).acknowledge({
    id: 'AwsSolutions-COG2',
    reason:
      'Users are created by the operator and sign in from scripts and the prominence CLI with ' +
      'USER_PASSWORD_AUTH, which an MFA challenge would break; the password policy is strict ' +
      'and operators who need MFA can use their own OIDC issuer instead',
  });
  Validations.of(pool).acknowledge({
    id: 'AwsSolutions-COG8',
    reason:
      'The Plus plan (threat protection) is billed per monthly active user; this pool has no ' +
      'self sign-up, so every user is one the operator created, and Lite costs nothing idle',
  });
}
