// Reading a manifest back from the registry with the proxy's own access, and checking its
// bytes against its digest before anything trusts them (design.md invariant 6).

import { canCompute, computeDigest, parseDigest } from '../oci/digest.js';
import { readReferrer, type Referrer } from '../oci/manifest.js';
import { OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.js';
import type { UpstreamClient } from './client.js';

/** Every manifest media type the registry may hold, for reads that must not be converted. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

export interface FetchedManifest {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly contentType: string;
}

/** GETs a manifest by tag or digest; undefined when absent or when its bytes do not check. */
export async function fetchManifest(
  upstream: Pick<UpstreamClient, 'send'>,
  repository: string,
  reference: string,
): Promise<FetchedManifest | undefined> {
  const response = await upstream.send('GET', `/v2/${repository}/manifests/${reference}`,
    { accept: MANIFEST_ACCEPT });
  if (response.status !== 200) return undefined;

  const digest = verifiedDigest(reference, response.body,
    String(response.headers['docker-content-digest'] ?? ''));
  if (digest === undefined) return undefined;
  return { digest, bytes: response.body,
    contentType: String(response.headers['content-type'] ?? '') };
}

/** The referrer a fetched manifest is, if it is one; a broken manifest is none. */
export function referrerOf(fetched: FetchedManifest): Referrer | undefined {
  try {
    return readReferrer(fetched.bytes, fetched.contentType, fetched.digest);
  } catch {
    return undefined;
  }
}

/** The digest of the bytes, when it agrees with the reference or the registry's header. */
function verifiedDigest(reference: string, bytes: Buffer, reported: string): string | undefined {
  const claimed = parseDigest(reference) !== undefined ? reference : reported;
  const algorithm = parseDigest(claimed)?.algorithm ?? 'sha256';
  if (!canCompute(algorithm)) return undefined;

  const computed = computeDigest(bytes, algorithm);
  return claimed === '' || claimed === computed ? computed : undefined;
}
