// Reading a pushed manifest to find out whether it is a referrer, and the descriptor the
// referrers API lists for it (distribution-spec v1.1.1 "Listing Referrers"; oci-notes.md §1.4).

import { ManifestInvalidError } from '../errors.js';
import { isDigest } from './digest.js';
import { OCI_INDEX, OCI_MANIFEST, baseMediaType, type ReferrerMediaType } from './media-types.js';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A manifest that names a `subject`, and how the referrers API describes it. */
export interface Referrer {
  readonly subject: string;
  readonly descriptor: Descriptor;
}

type JsonObject = Record<string, unknown>;

/**
 * Decides whether a pushed manifest is a referrer. Returns undefined for manifests without
 * `subject`, and for kinds that do not define `subject` (Docker schema 2), which the spec says
 * to ignore as unknown fields. Throws ManifestInvalidError for an OCI manifest or index whose
 * JSON, schemaVersion or `subject` is broken: the upstream would store it (or fail with a 500)
 * and the proxy could not list it.
 */
export function readReferrer(
  bytes: Uint8Array,
  contentType: string | undefined,
  digest: string,
): Referrer | undefined {
  const declared = baseMediaType(contentType);
  const json = parseJsonObject(bytes, isReferrerMediaType(declared));
  // Registry 2.8 answers 500 to an OCI manifest without schemaVersion 2; refuse it as a 400.
  if (json !== undefined && isReferrerMediaType(declared) && json.schemaVersion !== 2) {
    throw new ManifestInvalidError('schemaVersion must be 2');
  }
  if (json === undefined || json.subject === undefined) return undefined;

  const mediaType = referrerKind(declared, json);
  if (mediaType === undefined) return undefined;

  const subject = readSubjectDigest(json.subject);
  const descriptor = referrerDescriptor(json, mediaType, digest, bytes.byteLength);
  return { subject, descriptor };
}

function isReferrerMediaType(mediaType: unknown): mediaType is ReferrerMediaType {
  return mediaType === OCI_MANIFEST || mediaType === OCI_INDEX;
}

function parseJsonObject(bytes: Uint8Array, mustParse: boolean): JsonObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    if (mustParse) throw new ManifestInvalidError('body is not valid JSON');
    return undefined;
  }

  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (isObject) return value as JsonObject;
  if (mustParse) throw new ManifestInvalidError('body is not a JSON object');
  return undefined;
}

/**
 * The kind of manifest: the Content-Type decides, as it does for the registry; a body
 * `mediaType`, when present, must agree with it (distribution-spec "Pushing Manifests").
 */
function referrerKind(declared: string, json: JsonObject): ReferrerMediaType | undefined {
  const inBody = json.mediaType;
  const kind = isReferrerMediaType(declared) ? declared : undefined;
  if (kind === undefined) {
    return declared === '' && isReferrerMediaType(inBody) ? inBody : undefined;
  }

  if (inBody !== undefined && inBody !== kind) {
    throw new ManifestInvalidError(`mediaType "${String(inBody)}" does not match Content-Type`);
  }
  return kind;
}

function readSubjectDigest(subject: unknown): string {
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) {
    throw new ManifestInvalidError('subject is not a descriptor object');
  }

  const { mediaType, digest, size } = subject as JsonObject;
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw new ManifestInvalidError('subject.mediaType is missing');
  }
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw new ManifestInvalidError('subject.digest is not a valid digest');
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestInvalidError('subject.size is not a non-negative integer');
  }
  return digest;
}

function referrerDescriptor(
  json: JsonObject,
  mediaType: ReferrerMediaType,
  digest: string,
  size: number,
): Descriptor {
  const artifactType = deriveArtifactType(json, mediaType);
  const annotations = readAnnotations(json.annotations);
  return {
    mediaType,
    digest,
    size,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/**
 * distribution-spec v1.1.1 "Listing Referrers": the manifest's own non-empty `artifactType`;
 * else, for an image manifest, `config.mediaType`; else (an index) no artifactType at all.
 */
export function deriveArtifactType(
  json: JsonObject,
  mediaType: ReferrerMediaType,
): string | undefined {
  const own = json.artifactType;
  if (own !== undefined && typeof own !== 'string') {
    throw new ManifestInvalidError('artifactType is not a string');
  }
  if (own !== undefined && own !== '') return own;
  if (mediaType === OCI_INDEX) return undefined;

  const config = json.config;
  const configType = typeof config === 'object' && config !== null
    ? (config as JsonObject).mediaType
    : undefined;
  return typeof configType === 'string' && configType !== '' ? configType : undefined;
}

/** Top-level annotations, copied exactly (image-spec annotations.md: string to string). */
function readAnnotations(value: unknown): Readonly<Record<string, string>> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ManifestInvalidError('annotations is not an object');
  }

  const entries = Object.entries(value as JsonObject);
  if (entries.some(([, v]) => typeof v !== 'string')) {
    throw new ManifestInvalidError('annotations values must be strings');
  }
  return entries.length === 0 ? undefined : (value as Record<string, string>);
}
