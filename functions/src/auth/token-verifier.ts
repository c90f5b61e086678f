import { JwtRsaVerifier } from 'aws-jwt-verify';
import {
  FetchError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
} from 'aws-jwt-verify/error';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { AuthenticationError } from '../../../core/src/errors';
import type { Identity } from '../../../core/src/job-types';

export interface TokenVerifierConfig {
  readonly issuer: string;
  readonly jwksUri: string;
  /** The `aud` the tokens must carry; null accepts any. */
  readonly audience: string | null;
  /** Which claim holds the user name (default preferred_username). */
  readonly usernameClaim: string;
  /** Which claim holds the groups: an array of names or a comma-joined string. */
  readonly groupsClaim: string;
  /** Keys known in advance (local mode), so no request is made for them. */
  readonly jwks?: Jwks;
}

export interface TokenVerifier {
  verify(authorization: string | undefined): Promise<Identity>;
}

/** Verifies RS256 bearer tokens against the issuer's JWKS and reads the caller's identity. */
export function createTokenVerifier(config: TokenVerifierConfig): TokenVerifier {
  const verifier = JwtRsaVerifier.create({
    issuer: config.issuer,
    audience: config.audience,
    jwksUri: config.jwksUri,
  });
  if (config.jwks !== undefined) {
    verifier.cacheJwks(config.jwks);
  }
  return {
    async verify(authorization) {
      const token = bearerToken(authorization);
      let payload: JwtPayload;
      try {
        payload = await verifier.verify(token);
      } catch (error) {
        throw new AuthenticationError(`Authentication failure: ${describe(error)}`, {
          cause: error,
        });
      }
      if (typeof payload.exp !== 'number') {
        throw new AuthenticationError('Authentication failure: the token has no expiry');
      }
      return identityFrom(payload, config);
    },
  };
}

function bearerToken(authorization: string | undefined): string {
  const [scheme, token, extra] = (authorization ?? '').trim().split(/\s+/);
  if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
    throw new AuthenticationError('Authentication failure: send Authorization: Bearer <token>');
  }
  return token;
}

function identityFrom(payload: JwtPayload, config: TokenVerifierConfig): Identity {
  const username = payload[config.usernameClaim];
  if (typeof username !== 'string' || username === '') {
    throw new AuthenticationError(
      `Authentication failure: the token has no ${config.usernameClaim} claim`,
    );
  }
  const rawGroups = payload[config.groupsClaim];
  const groups = Array.isArray(rawGroups)
    ? rawGroups.filter((group): group is string => typeof group === 'string')
    : typeof rawGroups === 'string'
      ? rawGroups.split(',').filter((group) => group !== '')
      : [];
  return { username, groups };
}

/** A short reason a client can act on, told apart by the library's error classes. */
const REASONS: readonly [new (...args: never[]) => Error, string][] = [
  [JwtExpiredError, 'the token has expired'],
  [JwtNotBeforeError, 'the token is not valid yet'],
  [JwtInvalidIssuerError, 'the token is from another issuer'],
  [JwtInvalidAudienceError, 'the token is for another audience'],
  [JwtInvalidSignatureAlgorithmError, 'the token is not signed with RS256'],
  [JwtInvalidSignatureError, 'the token signature is not valid'],
  [KidNotFoundInJwksError, 'the token was signed by an unknown key'],
  [JwtWithoutValidKidError, 'the token names no signing key'],
  [JwtParseError, 'the token is not a JWT'],
  [FetchError, "the issuer's keys could not be fetched"],
];

function describe(error: unknown): string {
  return REASONS.find(([kind]) => error instanceof kind)?.[1] ?? 'the token could not be verified';
}
