// Reading a repository's tags and what a tag points to from the registry, with whichever
// credentials the caller stands for (the client's own, or the proxy's for background work).

import { UpstreamInvalidError } from '../errors.js';
import type { HeaderMap, UpstreamResponse } from './client.js';
import { MANIFEST_ACCEPT } from './manifests.js';

/** One request to the upstream, with the credentials of whoever the work is done for. */
export type UpstreamRequest = (method: string, path: string, headers: HeaderMap)
  => Promise<UpstreamResponse>;

/** Upstreams that page their tag lists are followed this many pages at most. */
const MAX_UPSTREAM_PAGES = 1000;

/** Every tag the registry lists, following its own pages; or its refusal, to relay. */
export async function collectTags(
  request: UpstreamRequest,
  origin: string,
  repository: string,
): Promise<string[] | UpstreamResponse> {
  const tags: string[] = [];
  let path: string | undefined = `/v2/${repository}/tags/list`;

  for (let pages = 0; path !== undefined && pages < MAX_UPSTREAM_PAGES; pages++) {
    const response = await request('GET', path, {});
    if (response.status !== 200) return response;

    tags.push(...readTags(path, response.body));
    path = nextPath(response.headers.link, origin);
  }
  return tags;
}

/** The digest a tag points to: undefined when the tag does not exist; else the refusal. */
export async function tagDigest(
  request: UpstreamRequest,
  repository: string,
  tag: string,
): Promise<string | undefined | UpstreamResponse> {
  const response = await request('HEAD', `/v2/${repository}/manifests/${tag}`,
    { accept: MANIFEST_ACCEPT });
  if (response.status === 404) return undefined;
  if (response.status !== 200) return response;

  const digest = response.headers['docker-content-digest'];
  if (typeof digest !== 'string') {
    throw new UpstreamInvalidError(`/v2/${repository}/manifests/${tag}`,
      'no Docker-Content-Digest header');
  }
  return digest;
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
