import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Jwks } from 'aws-jwt-verify/jwk';

/** The signing key and issuer that local mode makes once and keeps in its data directory. */
export interface LocalIssuer {
  readonly issuer: string;
  readonly keyId: string;
  readonly privateKeyPem: string;
  readonly jwks: Jwks;
}

interface StoredIssuer {
  readonly issuer: string;
  readonly keyId: string;
  readonly privateKeyPem: string;
}

const ISSUER_FILE = 'issuer.json';

/** Reads the local issuer from `<dataDir>/auth`, creating it on first use. */
export async function ensureLocalIssuer(dataDir: string): Promise<LocalIssuer> {
  const dir = join(dataDir, 'auth');
  const file = join(dir, ISSUER_FILE);
  let stored: StoredIssuer;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as StoredIssuer;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    stored = {
      issuer: `urn:flare:local:${randomUUID()}`,
      keyId: randomUUID(),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600, flag: 'wx' }).catch(
      async (writeError: NodeJS.ErrnoException) => {
        // Another process made it first (npm start and npm run token at once): use theirs.
        if (writeError.code !== 'EEXIST') throw writeError;
        stored = JSON.parse(await readFile(file, 'utf8')) as StoredIssuer;
      },
    );
  }
  const { n, e } = createPublicKey(createPrivateKey(stored.privateKeyPem)).export({
    format: 'jwk',
  });
  if (n === undefined || e === undefined) {
    throw new Error('The local signing key is not an RSA key');
  }
  return {
    ...stored,
    jwks: { keys: [{ kty: 'RSA', n, e, kid: stored.keyId, alg: 'RS256', use: 'sig' }] },
  };
}

export interface TokenClaims {
  readonly username: string;
  readonly groups: readonly string[];
  readonly lifetimeSeconds: number;
  /** Claim names, as the service is configured to read them. */
  readonly usernameClaim: string;
  readonly groupsClaim: string;
}

/** Signs an RS256 JWT for a local user. */
export function signLocalToken(issuer: LocalIssuer, claims: TokenClaims, nowMs = Date.now()) {
  const now = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: issuer.keyId };
  const payload = {
    iss: issuer.issuer,
    sub: claims.username,
    iat: now,
    exp: now + claims.lifetimeSeconds,
    [claims.usernameClaim]: claims.username,
    [claims.groupsClaim]: [...claims.groups],
  };
  const signingInput = `${encode(header)}.${encode(payload)}`;
  const signature = sign('RSA-SHA256', Buffer.from(signingInput), issuer.privateKeyPem);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
