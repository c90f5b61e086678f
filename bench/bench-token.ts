import { ensureLocalIssuer, signLocalToken } from '../local/src/local-issuer';

/** A token the local service accepts, for `username`. */
export async function benchToken(dataDir: string, username: string): Promise<string> {
  const issuer = await ensureLocalIssuer(dataDir);
  return signLocalToken(issuer, {
    username,
    groups: [],
    lifetimeSeconds: 3600,
    usernameClaim: 'preferred_username',
    groupsClaim: 'groups',
  });
}
