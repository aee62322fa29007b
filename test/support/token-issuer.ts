// A token issuer for registry 2.8's token authentication: a self-signed certificate the
// registry trusts through auth.token.rootcertbundle, and a /token endpoint that signs JWTs
// (RS256, certificate in the x5c header) granting the scopes asked for to known users.

import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { makeTempDir, removeTempDir, runCommand } from './process.js';

export interface TokenIssuer {
  /** The realm registries and clients ask for tokens. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certPath: string;
  /** The `auth:` section of a registry config trusting this issuer. */
  registryConfig(): string;
  /** A token for `scope` as `user` would get it (for the test acting as a client). */
  token(user: string | undefined, scope: string): string;
  stop(): Promise<void>;
}

/** Users and what they may do, per repository name prefix ('' = every repository). */
export type Grants = Record<string, { password: string; actions: Record<string, string[]> }>;

export async function startTokenIssuer(grants: Grants): Promise<TokenIssuer> {
  const dir = await makeTempDir('token-issuer');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const made = await runCommand('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=test-token-issuer'],
  { timeoutMs: 30_000 });
  if (made.code !== 0) throw new Error(`openssl: ${made.stderr}`);

  const key = await readFile(keyPath, 'utf8');
  const certDer = pemBody(await readFile(certPath, 'utf8'));
  const port = await freePort();
  const issuer: Omit<TokenIssuer, 'stop' | 'registryConfig' | 'token'> = {
    realm: `http://127.0.0.1:${port}/token`, service: 'test-registry', issuer: 'test-issuer',
    certPath,
  };
  const sign = (user: string | undefined, scope: string): string =>
    signToken(key, certDer, issuer.issuer, issuer.service, user, granted(grants, user, scope));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer.realm);
    const user = authenticated(grants, req.headers.authorization);
    if (user === null) {
      res.writeHead(401).end();
      return;
    }
    const scopes = url.searchParams.getAll('scope').join(' ');
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: sign(user, scopes), expires_in: 300 }));
  });
  await listen(server, port);

  return {
    ...issuer,
    registryConfig: () => ['auth:', '  token:', `    realm: ${issuer.realm}`,
      `    service: ${issuer.service}`, `    issuer: ${issuer.issuer}`,
      `    rootcertbundle: ${certPath}`].join('\n'),
    token: sign,
    async stop() {
      await new Promise((resolve) => server.close(resolve));
      await removeTempDir(dir);
    },
  };
}

function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

/** undefined: anonymous; null: wrong credentials. */
function authenticated(grants: Grants, header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  const [user, password] = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString()
    .split(':');
  return user !== undefined && grants[user]?.password === password ? user : null;
}

/** The access entries a token grants: the asked actions the user holds for each repository. */
function granted(grants: Grants, user: string | undefined, scope: string) {
  const rights = user === undefined ? {} : grants[user]?.actions ?? {};
  return scope.split(' ').filter((s) => s.startsWith('repository:')).map((entry) => {
    const [, name = '', actions = ''] = entry.split(':');
    const allowed = Object.entries(rights).filter(([prefix]) => name.startsWith(prefix))
      .flatMap(([, list]) => list);
    return { type: 'repository', name,
      actions: actions.split(',').filter((action) => allowed.includes(action)) };
  });
}

function signToken(key: string, certDer: string, iss: string, aud: string,
  user: string | undefined, access: unknown[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = { iss, sub: user ?? '', aud, exp: now + 300, nbf: now - 10, iat: now,
    jti: `${now}-${Math.random()}`, access };
  const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const unsigned = `${encode(header)}.${encode(claims)}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
  return `${unsigned}.${signature}`;
}
