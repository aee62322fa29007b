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

// RFC 6838 restricted-name grammar, as image-spec's schema/defs-descriptor.json writes it.
const NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const MEDIA_TYPE = new RegExp(`^${NAME}/${NAME}$`);

export function isMediaType(value: string): boolean {
  return MEDIA_TYPE.test(value);
}
