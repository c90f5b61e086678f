import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, globalAgent, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { LocalIssuer } from '../../local/src/local-issuer';

/** The issuer's keys over HTTPS on 127.0.0.1, as aws-jwt-verify fetches only HTTPS. */
export interface JwksServer {
  readonly uri: string;
  readonly requests: () => number;
  close(): Promise<void>;
}

export async function startJwksServer(issuer: LocalIssuer, dir: string): Promise<JwksServer> {
  const keyFile = join(dir, 'tls-key.pem');
  const certFile = join(dir, 'tls-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  const cert = await readFile(certFile);
  // The verifier makes its requests through the global agent: trust this one certificate.
  globalAgent.options.ca = cert;
  let requests = 0;
  const server: Server = createServer({ key: await readFile(keyFile), cert }, (_, res) => {
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `https://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
