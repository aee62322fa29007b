// Tag names the proxy writes into the registry.
//
// The referrers tag schema (distribution-spec "Referrers Tag Schema"): the algorithm truncated
// to 32 characters, "-", the encoded part truncated to 64, then every character not allowed in
// a tag replaced by "-". v1.1.1 leaves truncation and replacement open; the rule here is the
// one distribution-spec main made exact (oci-notes.md §3.1), and both agree for sha256.

const TAG_CHARACTER = /[^a-zA-Z0-9._-]/g;

/** The tag under which the referrers of `digest` are mirrored as an image index. */
export function referrersTag(digest: string): string {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon).slice(0, 32);
  const encoded = digest.slice(colon + 1).slice(0, 64);
  return `${algorithm}-${encoded}`.replace(TAG_CHARACTER, '-');
}

/**
 * Referrers tags of the registered algorithms (what clients of this field write). Used to hide
 * them from tag listings; exotic algorithms' tags stay visible rather than risk hiding a
 * user's tag.
 */
export function isReferrersTag(tag: string): boolean {
  return /^sha(?:256|512)-[a-f0-9]{64}$/.test(tag);
}

/**
 * Pin tags keep a referrer alive through registry 2.8's `garbage-collect --delete-untagged`,
 * which deletes untagged manifests even when a tagged index lists them. A pin tag starts with
 * "_", which no referrers tag can (an algorithm starts with [a-z0-9]) and no cosign tag does
 * ("sha256-<hex>.sig"), so neither scheme can collide with it. At most 8 + 97 characters.
 */
export const PIN_TAG_PREFIX = '_rp.pin.';

export function pinTag(referrerDigest: string): string {
  return PIN_TAG_PREFIX + referrersTag(referrerDigest);
}

export function isPinTag(tag: string): boolean {
  return tag.startsWith(PIN_TAG_PREFIX);
}

/** The tag the access check asks for (upstream/access-probe.ts says why). */
export const ACCESS_PROBE_TAG = '_rp.access-check';
