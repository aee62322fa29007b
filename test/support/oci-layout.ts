// OCI content built in memory (blobs, image manifests, image indexes, referrers) and written
// to or read from an OCI image layout on disk. Every manifest is serialized exactly once, and
// its `bytes` are what a test pushes, so `digest` always names what the registry stores.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  empty: 'application/vnd.oci.empty.v1+json',
  layoutHeader: 'application/vnd.oci.layout.header.v1+json',
} as const;

/** Digest of the two bytes `{}` (image-spec manifest.md, "Guidance for an Empty Descriptor"). */
export const EMPTY_DIGEST =
  'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

/** Content addressed by digest: a layer, a config, or a manifest's serialized bytes. */
export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface ImageManifestJson {
  schemaVersion: 2;
  mediaType: typeof MEDIA_TYPES.manifest;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndexJson {
  schemaVersion: 2;
  mediaType: typeof MEDIA_TYPES.index;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A manifest is also a blob: its bytes can sit in blobs/ or be listed by an index. */
export interface Manifest<J = ImageManifestJson | ImageIndexJson> extends Blob {
  json: J;
}

/** A manifest together with every blob that must exist upstream before it is pushed. */
export interface OciImage {
  manifest: Manifest;
  blobs: Blob[];
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blobOf(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

export function randomLayer(size: number): Blob {
  return blobOf(MEDIA_TYPES.layer, randomBytes(size));
}

export function jsonBlob(mediaType: string, value: unknown): Blob {
  return blobOf(mediaType, Buffer.from(JSON.stringify(value), 'utf8'));
}

/** The OCI empty blob `{}`, config of artifacts that carry no configuration. */
export function emptyBlob(): Blob {
  return blobOf(MEDIA_TYPES.empty, Buffer.from('{}', 'utf8'));
}

/** The descriptor of any content, e.g. an image's manifest used as a referrer's subject. */
export function descriptorOf(content: Blob, extra: Partial<Descriptor> = {}): Descriptor {
  return {
    mediaType: content.mediaType,
    digest: content.digest,
    size: content.size,
    ...extra,
  };
}

export interface ImageManifestOptions {
  config: Blob;
  layers: Blob[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export function imageManifest(opts: ImageManifestOptions): Manifest<ImageManifestJson> {
  // Field order follows image-spec manifest.md; optional fields stay absent, not null.
  const json: ImageManifestJson = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    ...(opts.artifactType !== undefined && { artifactType: opts.artifactType }),
    config: descriptorOf(opts.config),
    layers: opts.layers.map((layer) => descriptorOf(layer)),
    ...(opts.subject !== undefined && { subject: opts.subject }),
    ...(opts.annotations !== undefined && { annotations: opts.annotations }),
  };
  return serialize(MEDIA_TYPES.manifest, json);
}

export interface ImageIndexOptions {
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export function imageIndex(opts: ImageIndexOptions): Manifest<ImageIndexJson> {
  const json: ImageIndexJson = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    ...(opts.artifactType !== undefined && { artifactType: opts.artifactType }),
    manifests: opts.manifests,
    ...(opts.subject !== undefined && { subject: opts.subject }),
    ...(opts.annotations !== undefined && { annotations: opts.annotations }),
  };
  return serialize(MEDIA_TYPES.index, json);
}

function serialize<J>(mediaType: string, json: J): Manifest<J> {
  return { ...blobOf(mediaType, Buffer.from(JSON.stringify(json), 'utf8')), json };
}

export interface RandomImageOptions {
  layerCount?: number;
  layerSize?: number;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A runnable-looking linux/amd64 image of random uncompressed layers: a typical subject. */
export function randomImage(opts: RandomImageOptions = {}): OciImage & {
  manifest: Manifest<ImageManifestJson>;
} {
  const layers = Array.from({ length: opts.layerCount ?? 1 }, () =>
    randomLayer(opts.layerSize ?? 1024));

  // Uncompressed layers: each diff_id equals the layer digest.
  const config = jsonBlob(MEDIA_TYPES.config, {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
  });

  const manifest = imageManifest({
    config,
    layers,
    subject: opts.subject,
    annotations: opts.annotations,
  });
  return { manifest, blobs: [config, ...layers] };
}

export interface ArtifactOptions {
  subject: Descriptor;
  artifactType: string;
  annotations?: Record<string, string>;
  /**
   * true (default): config is the empty descriptor and the manifest's artifactType field names
   * the type, as image-spec 1.1 asks. false: the older style where only config.mediaType
   * carries the type (a `{}` config of that media type) and artifactType is absent, to
   * exercise the referrers API's config.mediaType fallback.
   */
  emptyConfig?: boolean;
}

/** A signature- or SBOM-like referrer of subject: one small random layer. */
export function artifactManifest(opts: ArtifactOptions): OciImage & {
  manifest: Manifest<ImageManifestJson>;
} {
  const emptyConfig = opts.emptyConfig ?? true;
  const config = emptyConfig ? emptyBlob() : jsonBlob(opts.artifactType, {});
  const layer = randomLayer(64);

  const manifest = imageManifest({
    config,
    layers: [layer],
    subject: opts.subject,
    artifactType: emptyConfig ? opts.artifactType : undefined,
    annotations: opts.annotations,
  });
  return { manifest, blobs: [config, layer] };
}

/**
 * Writes image into an OCI image layout at dir, tagged through the ref.name annotation. An
 * existing layout is extended; a previous entry with the same tag is replaced.
 */
export async function writeOciLayout(dir: string, image: OciImage, tag: string): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });

  for (const blob of [...image.blobs, image.manifest]) {
    await writeFile(join(blobDir, hexOf(blob.digest)), blob.bytes);
  }

  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const index = await readLayoutIndex(dir);
  const others = index.manifests.filter((entry) => refNameOf(entry) !== tag);
  const entry = descriptorOf(image.manifest, { annotations: { [REF_NAME_ANNOTATION]: tag } });
  const updated: ImageIndexJson = { ...index, manifests: [...others, entry] };
  await writeFile(join(dir, 'index.json'), JSON.stringify(updated));
}

/** Digest of the manifest tagged `tag` in the layout's index.json; throws when absent. */
export async function readOciLayoutManifestDigest(dir: string, tag: string): Promise<string> {
  const index = await readLayoutIndex(dir);
  const entry = index.manifests.find((candidate) => refNameOf(candidate) === tag);
  if (entry === undefined) throw new Error(`no manifest tagged ${tag} in ${dir}/index.json`);
  return entry.digest;
}

/** The bytes of a blob in a layout, checked against their digest. */
export async function readOciLayoutBlob(dir: string, digest: string): Promise<Buffer> {
  const bytes = await readFile(join(dir, 'blobs', 'sha256', hexOf(digest)));
  if (sha256Digest(bytes) !== digest) throw new Error(`blob ${digest} in ${dir} is corrupt`);
  return bytes;
}

async function readLayoutIndex(dir: string): Promise<ImageIndexJson> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (err) {
    if (isNotFound(err)) return { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [] };
    throw err;
  }
  return JSON.parse(text) as ImageIndexJson;
}

function refNameOf(descriptor: Descriptor): string | undefined {
  return descriptor.annotations?.[REF_NAME_ANNOTATION];
}

function hexOf(digest: string): string {
  const match = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (match?.[1] === undefined) throw new Error(`not a sha256 digest: ${digest}`);
  return match[1];
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ENOENT';
}
