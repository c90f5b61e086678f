import assert from 'node:assert/strict';
import { createSign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticationError } from '../../core/src/errors';
import { createTokenVerifier, type TokenVerifier } from '../../functions/src/auth/token-verifier';
import { ensureLocalIssuer, type LocalIssuer, signLocalToken } from '../../local/src/local-issuer';

const claims = { usernameClaim: 'preferred_username', groupsClaim: 'groups' };

describe('token verifier', () => {
  let dataDir: string;
  let issuer: LocalIssuer;
  let verifier: TokenVerifier;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'flare-verifier-'));
    issuer = await ensureLocalIssuer(dataDir);
    verifier = createTokenVerifier({
      ...claims,
      issuer: issuer.issuer,
      // Keys are preloaded; nothing listens here, so a fetch fails at once.
      jwksUri: 'https://127.0.0.1:9/jwks.json',
      audience: null,
      jwks: issuer.jwks,
    });
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Signs `payload` with the issuer's key, as a foreign or careless issuer might. */
  function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ alg: 'RS256', typ: 'JWT', kid: issuer.keyId, ...header })}.${encode(payload)}`;
    const signature = createSign('RSA-SHA256').update(input).sign(issuer.privateKeyPem);
    return `${input}.${signature.toString('base64url')}`;
  }

  const now = () => Math.floor(Date.now() / 1000);

  it('reads the user name and groups from the configured claims', async () => {
    // Prepare
    const token = signLocalToken(issuer, {
      ...claims,
      username: 'alice',
      groups: ['physics', 'astro'],
      lifetimeSeconds: 60,
    });

    // Act
    const identity = await verifier.verify(`Bearer ${token}`);

    // Assess
    assert.deepEqual(identity, { username: 'alice', groups: ['physics', 'astro'] });
  });

  it('splits groups given as one comma-joined string', async () => {
    // Act
    const identity = await verifier.verify(
      `Bearer ${sign({ iss: issuer.issuer, exp: now() + 60, preferred_username: 'bob', groups: 'a,b' })}`,
    );

    // Assess
    assert.deepEqual(identity.groups, ['a', 'b']);
  });

  const refusals: [string, () => string | undefined, RegExp][] = [
    ['no header', () => undefined, /Bearer <token>/],
    ['a Basic header', () => 'Basic dXNlcjpwYXNz', /Bearer <token>/],
    ['not a JWT', () => 'Bearer not-a-jwt', /not a JWT/],
    [
      'an expired token',
      () => `Bearer ${sign({ iss: issuer.issuer, exp: now() - 60, preferred_username: 'a' })}`,
      /expired/,
    ],
    [
      'another issuer',
      () => `Bearer ${sign({ iss: 'https://other', exp: now() + 60, preferred_username: 'a' })}`,
      /another issuer/,
    ],
    [
      'a token without expiry',
      () => `Bearer ${sign({ iss: issuer.issuer, preferred_username: 'a' })}`,
      /no expiry/,
    ],
    [
      'a token without the user name claim',
      () => `Bearer ${sign({ iss: issuer.issuer, exp: now() + 60, sub: 'a' })}`,
      /no preferred_username claim/,
    ],
    [
      'a tampered signature',
      () => {
        const token = sign({ iss: issuer.issuer, exp: now() + 60, preferred_username: 'a' });
        return `Bearer ${token.slice(0, -4)}AAAA`;
      },
      /signature is not valid/,
    ],
  ];

  for (const [label, header, reason] of refusals) {
    it(`refuses ${label} with an AuthenticationError that says why`, async () => {
      // Act and assess
      await assert.rejects(verifier.verify(header()), (error: unknown) => {
        assert.ok(error instanceof AuthenticationError);
        assert.match(error.message, reason);
        return true;
      });
    });
  }
});
