// Answers the proxy builds itself (the referrers API) must not reveal anything the registry
// would refuse to show the caller (design.md invariant 8). The registry decides: the proxy asks
// it about the subject manifest with the caller's own credentials, and relays a refusal with
// the registry's challenge so standard clients run their usual token flow and retry.

import { UpstreamUnavailableError } from '../errors.js';
import { probeAccess } from '../upstream/access-probe.js';
import { ociErrorBody } from './errors.js';
import { forwardedHeaders, withoutHopByHop } from './headers.js';
import type { Dependencies, ProxyContext } from './state.js';

const REFUSAL_CODES: Readonly<Record<number, string>> = {
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  429: 'TOOMANYREQUESTS',
};

/** Headers of the registry's refusal that the client needs to act on it. */
const RELAYED_HEADERS = ['www-authenticate', 'retry-after'];

/**
 * True when the caller may pull from the repository. Otherwise the refusal has been written
 * to ctx and the caller must return. 404 counts as allowed: the registry let the caller look
 * and found nothing there.
 */
export async function mayPull(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
): Promise<boolean> {
  const cacheKey = deps.accessCache.key(ctx.get('authorization') || undefined, repository);
  if (deps.accessCache.isAllowed(cacheKey)) return true;

  // Every header of the caller goes along: a registry may authenticate by cookie as well.
  const headers = { ...withoutHopByHop(ctx.req.headers), ...forwardedHeaders(ctx.req) };
  const { allowed, response } = await probeAccess(
    (method, path, extra) => deps.upstream.send(method, path, extra), repository, headers);
  ctx.state.upstreamStatus = response.status;

  if (allowed) {
    deps.accessCache.allow(cacheKey);
    return true;
  }

  // Anything but a clear yes is a no: an unexpected answer must not open the index.
  const code = REFUSAL_CODES[response.status];
  if (code === undefined) {
    throw new UpstreamUnavailableError('HEAD', `/v2/${repository}/manifests`);
  }

  ctx.status = response.status;
  for (const name of RELAYED_HEADERS) {
    const value = response.headers[name];
    if (value !== undefined) ctx.set(name, value);
  }
  ctx.set('Content-Type', 'application/json');
  ctx.body = ociErrorBody(code, 'the registry refused access to this repository', null);
  return false;
}
