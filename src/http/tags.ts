// GET /v2/<name>/tags/list: the registry's tags minus the proxy's own (mirror and pin tags,
// unless --show-internal-tags), paged by the proxy as distribution-spec "Listing Tags" asks.
// The registry is asked with the caller's own credentials; a refusal is relayed unchanged.

import { NameInvalidError, PaginationInvalidError, UpstreamInvalidError } from '../errors.js';
import { isRepositoryName } from '../oci/name.js';
import { isPinTag, isReferrersTag } from '../oci/referrers-tag.js';
import { nextTagsLink, pageTags, parseTagQuery } from '../oci/tag-list.js';
import type { UpstreamResponse } from '../upstream/client.js';
import { forwardedHeaders, withoutHopByHop } from './headers.js';
import { relay } from './relay.js';
import type { Dependencies, ProxyContext } from './state.js';

/** Upstreams that page their tag lists are followed this many pages at most. */
const MAX_UPSTREAM_PAGES = 1000;

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

/** Every tag the registry lists, following its own pages; or its refusal to relay. */
async function collectTags(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
): Promise<string[] | UpstreamResponse> {
  const headers = { ...withoutHopByHop(ctx.req.headers), ...forwardedHeaders(ctx.req) };
  const tags: string[] = [];
  let path: string | undefined = `/v2/${repository}/tags/list`;

  for (let pages = 0; path !== undefined && pages < MAX_UPSTREAM_PAGES; pages++) {
    const response = await deps.upstream.send('GET', path, headers);
    ctx.state.upstreamStatus = response.status;
    if (response.status !== 200) return response;

    tags.push(...readTags(path, response.body));
    path = nextPath(response.headers.link, deps.upstream.origin.origin);
  }
  return tags;
}

function readTags(path: string, body: Buffer): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamInvalidError(path, 'tag list is not JSON');
  }

  // Registry 2.8 sends "tags": null for a repository without tags.
  const tags = (parsed as { tags?: unknown } | null)?.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new UpstreamInvalidError(path, 'tags is not a list of strings');
  }
  return tags;
}

/** The path of the upstream's next page, only when it stays on the upstream's /v2/ API. */
function nextPath(link: string | string[] | undefined, origin: string): string | undefined {
  const text = Array.isArray(link) ? link.join(',') : link;
  const target = /<([^>]+)>\s*;\s*rel="?next"?/.exec(text ?? '')?.[1];
  if (target === undefined) return undefined;

  const url = new URL(target, origin);
  return url.origin === origin && url.pathname.startsWith('/v2/')
    ? url.pathname + url.search
    : undefined;
}
