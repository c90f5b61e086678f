import {
  type AwsResourcesConfig,
  type Env,
  EnvReader,
  readAwsResources,
  url,
} from '../../../adapters/aws/aws-env';
import type { TokenVerifierConfig } from '../auth/token-verifier';
import { ROUTES } from '../routes';

/** What one API Lambda function needs, read from the environment the stack gives it. */
export interface AwsApiConfig extends AwsResourcesConfig {
  /** The ROUTES entry this function serves. */
  readonly routeName: string;
  /** The API's path prefix; API Gateway routes on it, so the function only reports it. */
  readonly basePath: string;
  readonly auth: Omit<TokenVerifierConfig, 'jwks'>;
}

/**
 * Reads and checks the Lambda environment, naming every variable that is missing or wrong in
 * one error, so that a misconfigured stack fails at the function's init with the whole list.
 */
export function readAwsApiConfig(
  env: Env,
  routeNames: readonly string[] = ROUTES.map((route) => route.name),
): AwsApiConfig {
  const reader = new EnvReader(env);
  const config: AwsApiConfig = {
    ...readAwsResources(reader),
    routeName: reader.read('FLARE_ROUTE', (value) =>
      routeNames.includes(value) ? undefined : `must be one of ${routeNames.join(', ')}`,
    ),
    basePath: reader.read('FLARE_BASE_PATH', basePath, '/api/v1').replace(/\/+$/, ''),
    auth: {
      issuer: reader.read('FLARE_JWT_ISSUER', () => undefined),
      // aws-jwt-verify fetches keys over HTTPS only.
      jwksUri: reader.read('FLARE_JWKS_URI', url(['https:'])),
      audience: reader.optional('FLARE_JWT_AUDIENCE') ?? null,
      usernameClaim: reader.read('FLARE_USERNAME_CLAIM', () => undefined, 'preferred_username'),
      groupsClaim: reader.read('FLARE_GROUPS_CLAIM', () => undefined, 'groups'),
    },
  };
  reader.assertValid("The function's");
  return config;
}

function basePath(value: string): string | undefined {
  return value.startsWith('/') ? undefined : 'must start with /';
}
