// GET /v2/<name>/referrers/<digest> (distribution-spec v1.1.1 "Listing Referrers"): always 200
// with an image index for a well-formed digest, even for an unknown subject or repository, so
// clients never mistake us for a registry without the API; 400 for a malformed digest.

import { DigestInvalidError, NameInvalidError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import { isRepositoryName } from '../oci/name.js';
import { OCI_INDEX } from '../oci/media-types.js';
import {
  FILTERS_APPLIED_HEADER,
  nextPageLink,
  parseReferrersQuery,
  renderIndex,
} from '../oci/referrers.js';
import { mayPull } from './authorize.js';
import type { Dependencies, ProxyContext } from './state.js';

export async function listReferrers(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const repository = ctx.state.route.repository ?? '';
  const subject = ctx.state.route.reference ?? '';
  if (!isRepositoryName(repository)) throw new NameInvalidError(repository);
  if (!isDigest(subject)) throw new DigestInvalidError(subject);

  if (!(await mayPull(ctx, deps, repository, subject))) return;

  const query = parseReferrersQuery(ctx.querystring);
  const bound = deps.config.referrersPageBytes;
  const page = await deps.index.page(repository, subject, query, bound);

  ctx.status = 200;
  ctx.set('Content-Type', OCI_INDEX);
  if (query.artifactTypes.length > 0) ctx.set(FILTERS_APPLIED_HEADER, 'artifactType');
  if (page.continueAfter !== undefined) {
    ctx.set('Link', nextPageLink(repository, subject, query, page.continueAfter));
  }
  ctx.body = renderIndex(page.entries);
}
