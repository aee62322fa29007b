// Whether the registry lets someone read a repository, asked the way that works for every
// caller and every digest: HEAD of a tag that normally does not exist. The registry checks pull
// access before looking, and answers 404 when it let the caller look and found nothing. Asking
// for a subject digest instead made registry 2.8 answer 500 for digests of algorithms it does
// not know, which the spec still allows in a referrers query.

import { ACCESS_PROBE_TAG } from '../oci/referrers-tag.js';
import type { HeaderMap, UpstreamResponse } from './client.js';
import { MANIFEST_ACCEPT } from './manifests.js';
import type { UpstreamRequest } from './tags.js';

export interface AccessAnswer {
  readonly allowed: boolean;
  /** The registry's answer, to relay when it refused. */
  readonly response: UpstreamResponse;
}

export async function probeAccess(
  request: UpstreamRequest,
  repository: string,
  headers: HeaderMap = {},
): Promise<AccessAnswer> {
  const response = await request('HEAD', `/v2/${repository}/manifests/${ACCESS_PROBE_TAG}`,
    { ...headers, accept: MANIFEST_ACCEPT });
  return { allowed: response.status < 300 || response.status === 404, response };
}
