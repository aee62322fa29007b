// Requests the proxy makes to the upstream on a caller's behalf carry the caller's own
// credentials and forwarding headers, so the registry decides as if the caller asked it.

import type { HeaderMap } from '../upstream/client.js';
import type { UpstreamRequest } from '../upstream/tags.js';
import { forwardedHeaders } from './headers.js';
import type { Dependencies, ProxyContext } from './state.js';

/**
 * An upstream request as the caller. Only credentials and forwarding headers are kept from the
 * caller's request: its body headers belong to another method and path.
 */
export function callerRequest(ctx: ProxyContext, deps: Dependencies): UpstreamRequest {
  const base: HeaderMap = { ...forwardedHeaders(ctx.req) };
  const authorization = ctx.get('authorization');
  if (authorization !== '') base.authorization = authorization;
  return (method, path, headers) => {
    const sent = deps.upstream.send(method, path, { ...base, ...headers });
    return sent.then((response) => {
      ctx.state.upstreamStatus = response.status;
      return response;
    });
  };
}
