// Subjects with many referrers for the referrers figures: the first 100 pushed through the
// proxy, and written as the tag-schema index clients would otherwise read; the rest straight
// into the index (pushing 10,000 manifests over HTTP would time the registry, not the proxy).

import { Redis } from 'ioredis';
import { ReferrersIndex } from '../src/index-store/referrers-index.js';
import { readReferrer } from '../src/oci/manifest.js';
import { referrersTag } from '../src/oci/referrers-tag.js';
import { artifactManifest, descriptorOf, randomImage } from '../test/support/oci-layout.js';
import type { ProxyProcess } from '../test/support/proxy-process.js';
import type { RedisServer } from '../test/support/redis.js';
import type { Registry } from '../test/support/registry.js';
import { pushBlob, pushImage, pushManifest } from '../test/support/registry-client.js';

const THROUGH_HTTP = 100;

export async function loadReferrers(
  registry: Registry,
  proxy: ProxyProcess,
  redisServer: RedisServer,
  repo: string,
  count: number,
): Promise<{ subject: string; tag: string | undefined }> {
  const image = randomImage();
  await pushImage(registry.url, repo, 'v1', image);
  const subject = descriptorOf(image.manifest);

  for (let n = 0; n < Math.min(count, THROUGH_HTTP); n++) {
    const artifact = artifactManifest({ subject, artifactType: n % 2 ? 'a/sig' : 'a/sbom' });
    for (const blob of artifact.blobs) await pushBlob(proxy.url, repo, blob);
    await pushManifest(proxy.url, repo, artifact.manifest.digest, artifact.manifest);
  }
  if (count > THROUGH_HTTP) await indexDirectly(redisServer.url, repo, subject, count);

  const tag = count <= THROUGH_HTTP
    ? await writeTagIndex(registry.url, proxy.url, repo, subject.digest)
    : undefined;
  return { subject: subject.digest, tag };
}

async function indexDirectly(url: string, repo: string, subject: { digest: string;
  mediaType: string; size: number }, count: number): Promise<void> {
  const redis = new Redis(url);
  const index = new ReferrersIndex(redis);
  try {
    for (let n = THROUGH_HTTP; n < count; n++) {
      const artifact = artifactManifest({ subject, artifactType: 'a/sig' });
      const referrer = readReferrer(artifact.manifest.bytes, artifact.manifest.mediaType,
        artifact.manifest.digest);
      if (referrer !== undefined) await index.add(repo, referrer);
    }
  } finally {
    redis.disconnect();
  }
}

/** Writes the referrers tag as a client's tag-schema fallback would: the same index. */
async function writeTagIndex(registry: string, proxy: string, repo: string, subject: string)
  : Promise<string> {
  const listing = await fetch(`${proxy}/v2/${repo}/referrers/${subject}`);
  const tag = referrersTag(subject);
  const stored = await fetch(`${registry}/v2/${repo}/manifests/${tag}`, { method: 'PUT',
    body: await listing.text(),
    headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
  if (stored.status !== 201) throw new Error(`PUT ${tag} answered ${stored.status}`);
  return tag;
}
