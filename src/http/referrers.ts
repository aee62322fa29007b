// GET /v2/<name>/referrers/<digest> (distribution-spec v1.1.1 "Listing Referrers"): always 200
// with an image index for a well-formed digest, even for an unknown subject or repository, so
// clients never mistake us for a registry without the API; 400 for a malformed digest. While
// Redis is unreachable the answer comes from the subject's referrers tag in the registry.

import { DigestInvalidError, IndexUnavailableError, NameInvalidError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import { isRepositoryName } from '../oci/name.js';
import { OCI_INDEX } from '../oci/media-types.js';
import {
  FILTERS_APPLIED_HEADER,
  descriptorsOfIndex,
  matchesFilter,
  nextPageLink,
  parseReferrersQuery,
  renderIndex,
  renderIndexBytes,
  type ReferrersQuery,
} from '../oci/referrers.js';
import { referrersTag } from '../oci/referrers-tag.js';
import { mayPull } from './authorize.js';
import { forwardedHeaders, withoutHopByHop } from './headers.js';
import type { Dependencies, ProxyContext } from './state.js';

/** Marks an answer read from the referrers tag instead of the index. */
export const SOURCE_HEADER = 'Referrers-Proxy-Source';

export async function listReferrers(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const repository = ctx.state.route.repository ?? '';
  const subject = ctx.state.route.reference ?? '';
  if (!isRepositoryName(repository)) throw new NameInvalidError(repository);
  if (!isDigest(subject)) throw new DigestInvalidError(subject);
  if (!(await mayPull(ctx, deps, repository))) return;

  const query = parseReferrersQuery(ctx.querystring);
  const bound = deps.config.referrersPageBytes;
  const page = await deps.index.page(repository, subject, query, bound).catch((error: unknown) => {
    if (error instanceof IndexUnavailableError) return undefined;
    throw error;
  });
  if (page === undefined) return answerFromMirror(ctx, deps, repository, subject, query);

  if (page.continueAfter !== undefined) {
    ctx.set('Link', nextPageLink(repository, subject, query, page.continueAfter));
  }
  answer(ctx, query, renderIndexBytes(page.manifests));
}

function answer(ctx: ProxyContext, query: ReferrersQuery, index: Buffer | string): void {
  ctx.status = 200;
  // Koa would set application/octet-stream for a Buffer body; the type must follow it.
  ctx.body = index;
  ctx.set('Content-Type', OCI_INDEX);
  if (query.artifactTypes.length > 0) ctx.set(FILTERS_APPLIED_HEADER, 'artifactType');
}

/**
 * Degraded answer while Redis is away: the referrers tag, read with the caller's credentials,
 * filtered here, in one page (a tag holds at most one 4 MiB index). If the registry cannot
 * give it either, the index's 503 stands.
 */
async function answerFromMirror(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  subject: string,
  query: ReferrersQuery,
): Promise<void> {
  const headers = { ...withoutHopByHop(ctx.req.headers), ...forwardedHeaders(ctx.req),
    accept: OCI_INDEX };
  const path = `/v2/${repository}/manifests/${referrersTag(subject)}`;
  const response = await deps.upstream.send('GET', path, headers);

  const entries = response.status === 404 ? []
    : response.status === 200 ? descriptorsOfIndex(response.body) : undefined;
  if (entries === undefined) throw new IndexUnavailableError('index read');
  ctx.set(SOURCE_HEADER, 'mirror');
  // One page, in the index's digest order, continuing after a cursor the client already has.
  const after = query.last;
  const wanted = entries.filter((entry) => matchesFilter(entry, query)
    && (after === undefined || entry.digest > after));
  answer(ctx, query, renderIndex(wanted.sort((a, b) => (a.digest < b.digest ? -1 : 1))));
}
