// Media types the proxy recognises (image-spec v1.1.1 media-types.md).

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** Kinds of manifest that may carry `subject` (image-spec manifest.md and image-index.md). */
export type ReferrerMediaType = typeof OCI_MANIFEST | typeof OCI_INDEX;

/** Media type without parameters, lower-cased: `a/b; charset=x` → `a/b`. */
export function baseMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}
