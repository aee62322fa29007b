// Sending an upstream answer (from the upstream client) back to the client unchanged, except
// for the header passes every proxied answer gets.

import type { UpstreamResponse } from '../upstream/client.js';
import { publicOrigin, rebaseResponseUrls, withoutHopByHop } from './headers.js';
import type { ProxyContext } from './state.js';

export function relay(ctx: ProxyContext, response: UpstreamResponse, upstreamOrigin: string): void {
  const headers = withoutHopByHop(response.headers);
  rebaseResponseUrls(headers, upstreamOrigin, publicOrigin(ctx.req));

  ctx.status = response.status;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  // A Buffer even when empty: Koa answers a null body with the status text.
  ctx.body = response.body;
  if (response.body.length === 0 && headers['content-type'] === undefined) {
    ctx.remove('content-type');
  }
}
