// A tiny distribution-spec client on global fetch, aimed at any base URL: the proxy under test
// or the registry behind it. Every response body is read here, so no test leaks a socket.

import {
  descriptorOf, randomImage, type Blob, type Descriptor, type Manifest, type OciImage,
} from './oci-layout.js';

export interface OciErrorJson {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Either a referrers index or an OCI error body; parsed JSON, nothing validated. */
export interface ReferrersBody {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
  errors?: OciErrorJson[];
}

export interface ReferrersResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when it is not JSON. */
  body: ReferrersBody | undefined;
  text: string;
}

/** Uploads blob monolithically: POST opens a session, PUT <Location>?digest= completes it. */
export async function pushBlob(base: string, repo: string, blob: Blob): Promise<void> {
  const opened = await fetch(v2Url(base, `${repo}/blobs/uploads/`), { method: 'POST' });
  const openedText = await opened.text();
  const location = opened.headers.get('location');
  if (opened.status !== 202 || location === null) {
    throw requestError('POST blob upload', repo, opened.status, openedText);
  }

  // Location may be absolute (distribution 2.8) or relative to base, and it already carries
  // the session's _state query parameter, so digest is added rather than concatenated.
  const target = new URL(location, base);
  target.searchParams.set('digest', blob.digest);

  const done = await fetch(target, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: asBody(blob.bytes),
  });
  const doneText = await done.text();
  if (done.status !== 201) {
    throw requestError(`PUT blob ${blob.digest}`, repo, done.status, doneText);
  }
}

/**
 * PUTs manifest bytes under reference (a tag or a digest) and returns the response with its
 * body already read, whatever the status: tests assert on rejected pushes too.
 */
export async function pushManifest(
  base: string,
  repo: string,
  reference: string,
  manifest: Manifest,
  contentType: string = manifest.mediaType,
): Promise<Response> {
  const response = await fetch(v2Url(base, `${repo}/manifests/${reference}`), {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body: asBody(manifest.bytes),
  });
  return detach(response);
}

/** Pushes every blob, then the manifest under tag; throws unless the manifest got 201. */
export async function pushImage(
  base: string,
  repo: string,
  tag: string,
  image: OciImage,
): Promise<Response> {
  for (const blob of image.blobs) await pushBlob(base, repo, blob);

  const response = await pushManifest(base, repo, tag, image.manifest);
  if (response.status !== 201) {
    const text = await response.clone().text();
    throw requestError(`PUT manifest ${tag}`, repo, response.status, text);
  }
  return response;
}

/** Pushes a fresh random image under `tag` and returns its descriptor: a subject. */
export async function pushSubjectImage(
  base: string,
  repo: string,
  tag = 'v1',
  layerCount = 2,
): Promise<Descriptor> {
  const image = randomImage({ layerCount });
  await pushImage(base, repo, tag, image);
  return descriptorOf(image.manifest);
}

/** Pushes an artifact's blobs, then its manifest by digest (or `reference`). */
export async function pushArtifact(
  base: string,
  repo: string,
  artifact: OciImage,
  reference = artifact.manifest.digest,
): Promise<Response> {
  for (const blob of artifact.blobs) await pushBlob(base, repo, blob);
  return pushManifest(base, repo, reference, artifact.manifest);
}

export async function getReferrers(
  base: string,
  repo: string,
  digest: string,
  artifactType?: string,
): Promise<ReferrersResponse> {
  const url = new URL(v2Url(base, `${repo}/referrers/${digest}`));
  if (artifactType !== undefined) url.searchParams.set('artifactType', artifactType);

  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: parseJson(text), text };
}

/** GET of a manifest by tag or digest, accepting OCI manifests and indexes by default. */
export async function getManifest(
  base: string,
  repo: string,
  reference: string,
  accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
): Promise<Response> {
  const response = await fetch(v2Url(base, `${repo}/manifests/${reference}`), {
    headers: { accept },
  });
  return detach(response);
}

export async function deleteManifest(
  base: string,
  repo: string,
  digest: string,
): Promise<Response> {
  const response = await fetch(v2Url(base, `${repo}/manifests/${digest}`), { method: 'DELETE' });
  return detach(response);
}

// fetch's types want an ArrayBuffer-backed view, which a pooled Buffer may not be; copy it.
function asBody(bytes: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function v2Url(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/v2/${path}`;
}

/** Reads the body now, so the connection goes back to the pool, and returns a readable copy. */
async function detach(response: Response): Promise<Response> {
  const bytes = await response.arrayBuffer();
  // Fetch refuses a body on these statuses even when it is empty.
  const nullBody = [101, 103, 204, 205, 304].includes(response.status);

  return new Response(nullBody ? null : bytes, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function parseJson(text: string): ReferrersBody | undefined {
  try {
    return JSON.parse(text) as ReferrersBody;
  } catch {
    return undefined;
  }
}

function requestError(step: string, repo: string, status: number, body: string): Error {
  return new Error(`${step} in ${repo} answered ${status}: ${body.slice(0, 500)}`);
}
