// GET /v2/<name>/tags/list: the registry's tags minus the proxy's own (mirror and pin tags,
// unless --show-internal-tags), paged by the proxy as distribution-spec "Listing Tags" asks.
// The registry is asked with the caller's own credentials; a refusal is relayed unchanged.

import { NameInvalidError, PaginationInvalidError } from '../errors.js';
import { isRepositoryName } from '../oci/name.js';
import { isPinTag, isReferrersTag } from '../oci/referrers-tag.js';
import { nextTagsLink, pageTags, parseTagQuery } from '../oci/tag-list.js';
import type { UpstreamResponse } from '../upstream/client.js';
import { collectTags as collectUpstreamTags } from '../upstream/tags.js';
import { callerRequest } from './caller.js';
import { relay } from './relay.js';
import type { Dependencies, ProxyContext } from './state.js';

export async function listTags(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const repository = ctx.state.route.repository ?? '';
  if (!isRepositoryName(repository)) throw new NameInvalidError(repository);
  const query = parseTagQuery(ctx.querystring);
  if (query === undefined) throw new PaginationInvalidError(ctx.querystring);

  const collected = await collectTags(ctx, deps, repository);
  if (!Array.isArray(collected)) return relay(ctx, collected, deps.upstream.origin.origin);

  const visible = deps.config.showInternalTags
    ? collected
    : collected.filter((tag) => !isReferrersTag(tag) && !isPinTag(tag));
  const page = pageTags(visible, query);
  if (page.nextLast !== undefined && query.n !== undefined) {
    ctx.set('Link', nextTagsLink(repository, query.n, page.nextLast));
  }
  ctx.set('Content-Type', 'application/json');
  ctx.body = JSON.stringify({ name: repository, tags: page.tags });
}

/** Every tag the registry lists, asked with the caller's credentials; or its refusal. */
function collectTags(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
): Promise<string[] | UpstreamResponse> {
  return collectUpstreamTags(callerRequest(ctx, deps), deps.upstream.origin.origin, repository);
}
