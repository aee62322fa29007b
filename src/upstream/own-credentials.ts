// The proxy's own access to the upstream, for its background work (mirror tags, pins,
// recovery, rebuilds, notifications). Client requests never use these credentials: they carry
// the client's own. Speaks both schemes registries use: Basic, and the Bearer token flow
// (ask the realm named in the challenge for a token, with Basic credentials when configured).

import { Agent, fetch } from 'undici';
import { UpstreamUnavailableError } from '../errors.js';
import { parseChallenge, type Challenge } from './challenge.js';
import type { HeaderMap, UpstreamClient, UpstreamResponse } from './client.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface CachedToken {
  readonly value: string;
  readonly expiresAt: number;
}

/** Tokens are reused until shortly before they expire; the spec's default lifetime is 60 s. */
const DEFAULT_TOKEN_SECONDS = 60;
const EXPIRY_MARGIN_MS = 5_000;

export class OwnUpstream {
  readonly #tokens = new Map<string, CachedToken>();

  readonly #dispatcher: Agent;

  constructor(
    readonly client: UpstreamClient,
    private readonly credentials: Credentials | undefined,
    ca?: Buffer,
  ) {
    // The token realm is often served under the same private CA as the registry.
    this.#dispatcher = new Agent(ca === undefined ? {} : { connect: { ca } });
  }

  /** Sends a request, answering one authentication challenge when the upstream asks. */
  async send(method: string, path: string, headers: HeaderMap, body?: Buffer)
    : Promise<UpstreamResponse> {
    const cached = this.#cachedAuthorization(path);
    const first = await this.client.send(method, path, withAuth(headers, cached), body);
    if (first.status !== 401) return first;

    const challenge = parseChallenge(headerText(first.headers['www-authenticate']));
    const authorization = challenge === undefined ? undefined : await this.#answer(challenge);
    if (authorization === undefined) return first;
    return this.client.send(method, path, withAuth(headers, authorization), body);
  }

  #cachedAuthorization(path: string): string | undefined {
    const repository = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(path)?.[1];
    for (const [scope, token] of this.#tokens) {
      if (token.expiresAt <= Date.now()) this.#tokens.delete(scope);
      else if (repository !== undefined && scope.includes(`repository:${repository}:`)) {
        return `Bearer ${token.value}`;
      }
    }
    return this.credentials === undefined ? undefined : basic(this.credentials);
  }

  async #answer(challenge: Challenge): Promise<string | undefined> {
    if (challenge.scheme === 'basic') {
      return this.credentials === undefined ? undefined : basic(this.credentials);
    }
    if (challenge.scheme !== 'bearer' || challenge.params.realm === undefined) return undefined;

    const token = await this.#fetchToken(challenge.params);
    return `Bearer ${token}`;
  }

  async #fetchToken(params: Readonly<Record<string, string>>): Promise<string> {
    const realm = new URL(params.realm ?? '');
    if (params.service !== undefined) realm.searchParams.set('service', params.service);
    for (const scope of (params.scope ?? '').split(' ').filter((s) => s !== '')) {
      realm.searchParams.append('scope', scope);
    }

    const headers: Record<string, string> = {};
    if (this.credentials !== undefined) headers.authorization = basic(this.credentials);
    const response = await fetch(realm, { headers, signal: AbortSignal.timeout(30_000),
      dispatcher: this.#dispatcher })
      .catch((cause: unknown) => {
        throw new UpstreamUnavailableError('GET', realm.pathname, { cause });
      });
    if (!response.ok) throw new UpstreamUnavailableError('GET', realm.pathname);

    const body = await response.json() as { token?: string; access_token?: string;
      expires_in?: number };
    const value = body.token ?? body.access_token;
    if (value === undefined) throw new UpstreamUnavailableError('GET', realm.pathname);
    const seconds = body.expires_in ?? DEFAULT_TOKEN_SECONDS;
    this.#tokens.set(params.scope ?? '', { value,
      expiresAt: Date.now() + seconds * 1000 - EXPIRY_MARGIN_MS });
    return value;
  }
}

function basic(credentials: Credentials): string {
  const pair = `${credentials.username}:${credentials.password}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

function withAuth(headers: HeaderMap, authorization: string | undefined): HeaderMap {
  return authorization === undefined ? headers : { ...headers, authorization };
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
