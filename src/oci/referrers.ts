// The referrers API answer (distribution-spec v1.1.1 "Listing Referrers"): an image index of
// descriptors, optionally filtered by artifactType, split into pages when it would grow past a
// size bound. Pure functions; the index store supplies the descriptors in a stable order.

import { isDigest } from './digest.js';
import type { Descriptor } from './manifest.js';
import { OCI_INDEX } from './media-types.js';

/** Header the spec requires when a filter was applied; its value lists the filters. */
export const FILTERS_APPLIED_HEADER = 'OCI-Filters-Applied';

/** A descriptor as stored: its JSON text (sent verbatim) and the fields queries look at. */
export interface StoredDescriptor {
  readonly digest: string;
  readonly artifactType: string | undefined;
  readonly json: string;
}

export function toStoredDescriptor(descriptor: Descriptor): StoredDescriptor {
  return {
    digest: descriptor.digest,
    artifactType: descriptor.artifactType,
    json: JSON.stringify(descriptor),
  };
}

export interface ReferrersQuery {
  /** artifactType values to keep; empty means no filter. */
  readonly artifactTypes: readonly string[];
  /** Continue after this referrer digest (our pagination cursor, from a Link we sent). */
  readonly last: string | undefined;
}

/**
 * Reads the query string by hand: URLSearchParams turns a raw `+` into a space, and media
 * types such as `application/spdx+json` are often sent with `+` unescaped.
 */
export function parseReferrersQuery(search: string): ReferrersQuery {
  const artifactTypes: string[] = [];
  let last: string | undefined;
  for (const pair of search.replace(/^\?/, '').split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : decodeQueryValue(pair.slice(eq + 1));
    if (key === 'artifactType' && value !== '') artifactTypes.push(value);
    if (key === 'last' && value !== '') last = value;
  }
  return { artifactTypes: [...new Set(artifactTypes)], last };
}

function decodeQueryValue(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    // A broken escape cannot name a real artifactType; keep it literal so it matches nothing.
    return raw;
  }
}

export function matchesFilter(entry: StoredDescriptor, query: ReferrersQuery): boolean {
  if (query.artifactTypes.length === 0) return true;
  return entry.artifactType !== undefined && query.artifactTypes.includes(entry.artifactType);
}

const INDEX_HEAD = `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[`;
const INDEX_TAIL = ']}';

/** Bytes of an index holding no entries; each entry adds its JSON and a comma. */
export const EMPTY_INDEX_BYTES = INDEX_HEAD.length + INDEX_TAIL.length;

/** Serializes a page as the image index the spec asks for; `manifests` is always present. */
export function renderIndex(entries: readonly StoredDescriptor[]): string {
  return INDEX_HEAD + entries.map((entry) => entry.json).join(',') + INDEX_TAIL;
}

/** Descriptor JSON texts read in pieces, joined as one comma-separated run. */
export function joinEntries(parts: readonly Buffer[]): Buffer {
  if (parts.length <= 1) return parts[0] ?? Buffer.alloc(0);
  const comma = Buffer.from(',');
  return Buffer.concat(parts.flatMap((part, n) => (n === 0 ? [part] : [comma, part])));
}

const HEAD_BYTES = Buffer.from(INDEX_HEAD);
const TAIL_BYTES = Buffer.from(INDEX_TAIL);

/** The image index around descriptor JSON already joined by commas (joinEntries). */
export function renderIndexBytes(manifests: Buffer): Buffer {
  return Buffer.concat([HEAD_BYTES, manifests, TAIL_BYTES]);
}

/** `Link` for the next page: RFC 8288 syntax, as distribution-spec "Listing Referrers" asks. */
export function nextPageLink(
  repository: string,
  subject: string,
  query: ReferrersQuery,
  lastDigest: string,
): string {
  const params = query.artifactTypes.map((type) => `artifactType=${encodeURIComponent(type)}`);
  params.push(`last=${encodeURIComponent(lastDigest)}`);
  return `</v2/${repository}/referrers/${subject}?${params.join('&')}>; rel="next"`;
}

/**
 * The descriptors of a referrers index read back from a referrers tag, keeping only entries
 * shaped like descriptors (mediaType, digest, size); undefined when the bytes are not an
 * image index at all. Used when the proxy must read a tag it cannot fully verify.
 */
export function descriptorsOfIndex(bytes: Uint8Array): StoredDescriptor[] | undefined {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof document !== 'object' || document === null) return undefined;
  const { schemaVersion, mediaType, manifests } = document as Record<string, unknown>;
  if (schemaVersion !== 2 || !Array.isArray(manifests)) return undefined;
  if (mediaType !== undefined && mediaType !== OCI_INDEX) return undefined;

  return manifests.filter(isDescriptorShaped).map((entry) => toStoredDescriptor(entry));
}

function isDescriptorShaped(value: unknown): value is Descriptor {
  if (typeof value !== 'object' || value === null) return false;
  const { mediaType, digest, size, artifactType, annotations } = value as Record<string, unknown>;
  return typeof mediaType === 'string' && typeof digest === 'string' && isDigest(digest)
    && typeof size === 'number' && Number.isSafeInteger(size) && size >= 0
    && (artifactType === undefined || typeof artifactType === 'string')
    && (annotations === undefined || isStringMap(annotations));
}

function isStringMap(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    && Object.values(value).every((entry) => typeof entry === 'string');
}
