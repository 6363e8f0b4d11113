/**
 * A registry token server for tests (the distribution "token" auth flow) on 127.0.0.1: checks
 * Basic credentials, grants the requested repository scopes, and signs RS256 JWTs with a fresh
 * key whose self-signed certificate is the registry's `rootcertbundle`. Made with openssl.
 */
import { execa } from 'execa';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** Path of the PEM certificate the registry must trust. */
  certFile: string;
  /** YAML to append to the registry config (`auth: token: …`). */
  registryConfig: string;
  /** Requests received: the scopes asked for and whether credentials were valid. */
  requests: { scopes: string[]; authenticated: boolean }[];
  close(): Promise<void>;
}

export async function startTokenServer(users: Record<string, string>): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-token-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=devloop-test-token-issuer']);
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  const service = 'devloop-test-registry';
  const issuer = 'devloop-test-issuer';
  const requests: TokenServer['requests'] = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const scopes = url.searchParams.getAll('scope');
    const user = basicUser(req.headers.authorization, users);
    requests.push({ scopes, authenticated: user !== undefined });
    if (user === undefined && req.headers.authorization) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"details":"invalid credentials"}');
      return;
    }
    // Anonymous callers get a token without access, as real token servers do.
    const access = user === undefined ? [] : scopes.map(parseScope).filter((s) => s !== undefined);
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${unsigned}.${b64url(sign('sha256', Buffer.from(unsigned), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    realm,
    service,
    issuer,
    certFile,
    registryConfig: `auth:\n  token:\n    realm: ${realm}\n    service: ${service}\n    issuer: ${issuer}\n    rootcertbundle: ${certFile}\n`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function basicUser(header: string | undefined, users: Record<string, string>): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  return users[user] !== undefined && users[user] === password ? user : undefined;
}

function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const parts = scope.split(':');
  if (parts.length < 3) return undefined;
  return { type: parts[0]!, name: parts.slice(1, -1).join(':'), actions: parts.at(-1)!.split(',') };
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}
