// The index is derived data: it comes back from the registry. A wiped Redis is rebuilt at the
// next start; `referrers-proxy reindex` walks tags, referrers tags that clients wrote before
// the proxy arrived (keeping only entries that check out), and, given the storage root,
// untagged manifests.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { referrersTag } from '../../src/oci/referrers-tag.js';
import {
  artifactManifest, descriptorOf, imageIndex, randomImage, type Descriptor, type OciImage,
} from '../support/oci-layout.js';
import { runCommand } from '../support/process.js';
import {
  getManifest, getReferrers, pushBlob, pushImage, pushManifest,
} from '../support/registry-client.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';
import { waitForPin, waitForReferrers } from '../support/waiting.js';

const SBOM = 'application/spdx+json';

let env: ProxyEnv;
before(async () => {
  env = await startProxyEnv({ server: { mirror: { intervalMs: 200, debounceMs: 50 },
    emptyIndexCheckMs: 300 } });
});
after(async () => {
  await env.stop();
});

async function pushSubject(base: string, repo: string): Promise<Descriptor> {
  const image = randomImage();
  await pushImage(base, repo, `v${Math.random().toString(36).slice(2, 8)}`, image);
  return descriptorOf(image.manifest);
}

/** Pushes a referrer by digest only (no tag), wherever `base` points. */
async function pushUntagged(base: string, repo: string, artifact: OciImage): Promise<void> {
  for (const blob of artifact.blobs) await pushBlob(base, repo, blob);
  const response = await pushManifest(base, repo, artifact.manifest.digest, artifact.manifest);
  assert.equal(response.status, 201);
}

async function listed(repo: string, subject: string): Promise<string[]> {
  const listing = await getReferrers(env.url, repo, subject);
  return (listing.body?.manifests ?? []).map((entry) => entry.digest).sort();
}

function reindex(args: string[]) {
  return runCommand(process.execPath, ['--import', 'tsx', 'src/main.ts', 'reindex',
    '--upstream', env.registry.url, '--redis', env.redis.url, ...args],
  { env: { PATH: process.env.PATH ?? '' }, timeoutMs: 120_000 });
}

describe('a wiped Redis', () => {
  // Regression: the empty-index check ran only on reconnect, so a FLUSHALL (no disconnect)
  // left every listing empty until the next restart.
  it('is rebuilt from the registry, complete, without a restart or reconnect', async () => {
    const subject = await pushSubject(env.url, 'wipe/app');
    const referrers = [SBOM, 'a/sig', 'a/att'].map((artifactType) =>
      artifactManifest({ subject, artifactType }));
    for (const artifact of referrers) await pushUntagged(env.url, 'wipe/app', artifact);
    const expected = referrers.map((artifact) => artifact.manifest.digest);
    await waitForReferrers(env.url, 'wipe/app', subject.digest, expected);
    // Pins are written in the background; they are what a tags-only rebuild finds.
    await sleep(1000);

    const redis = new Redis(env.redis.url);
    await redis.flushall();
    redis.disconnect();

    await waitForReferrers(env.url, 'wipe/app', subject.digest, expected);
  });
});

describe('a Redis that lost its data while the proxy was down', () => {
  it('is rebuilt when the proxy starts, before the periodic check would look', async () => {
    // Its own proxy with the default 30 s periodic check: only the start can rebuild in time.
    const fresh = await startProxyEnv({ server: { mirror: { intervalMs: 200, debounceMs: 50 } } });
    try {
      const subject = await pushSubject(fresh.url, 'restart/app');
      const sbom = artifactManifest({ subject, artifactType: SBOM });
      await pushUntagged(fresh.url, 'restart/app', sbom);
      await waitForPin(fresh.registry.url, 'restart/app', sbom.manifest.digest);

      const redis = new Redis(fresh.redis.url);
      await redis.flushall();
      redis.disconnect();
      await fresh.restartProxy();
      await waitForReferrers(fresh.url, 'restart/app', subject.digest, [sbom.manifest.digest]);
    } finally {
      await fresh.stop();
    }
  });
});

describe('referrers tags that clients wrote before the proxy', () => {
  it('are served after a reindex, keeping only entries that check out', async () => {
    const repo = 'legacy/app';
    const subject = await pushSubject(env.registry.url, repo);
    const other = await pushSubject(env.registry.url, repo);
    const good = artifactManifest({ subject, artifactType: SBOM });
    const foreign = artifactManifest({ subject: other, artifactType: SBOM });
    const notReferrer = randomImage();
    for (const content of [good, foreign]) await pushUntagged(env.registry.url, repo, content);
    await pushImage(env.registry.url, repo, 'plain', notReferrer);

    // What a client's tag-schema fallback would have written: one good entry, one referrer of
    // another subject, one manifest with no subject, and one that does not exist.
    const missing = artifactManifest({ subject, artifactType: 'a/sig' }).manifest;
    const legacy = imageIndex({ manifests: [good.manifest, foreign.manifest,
      notReferrer.manifest, missing].map((manifest) => descriptorOf(manifest)) });
    await pushImage(env.registry.url, repo, referrersTag(subject.digest),
      { manifest: legacy, blobs: [] }).catch(() => undefined);
    const stored = await getManifest(env.registry.url, repo, referrersTag(subject.digest));
    assert.equal(stored.status, 404, 'registry 2.8 refuses an index listing a missing manifest');
    const valid = imageIndex({ manifests: [good.manifest, foreign.manifest,
      notReferrer.manifest].map((manifest) => descriptorOf(manifest)) });
    const tagged = await pushManifest(env.registry.url, repo, referrersTag(subject.digest), valid);
    assert.equal(tagged.status, 201);

    const result = await reindex(['--repository', repo]);
    assert.equal(result.code, 0, result.stderr.toString());
    assert.match(result.stderr.toString(), /1\/1 repositories/);
    assert.match(result.stderr.toString(), /2 referrers-tag entries rejected/);
    assert.deepEqual(await listed(repo, subject.digest), [good.manifest.digest]);
    // Listed under the wrong subject's tag: not listed for that subject, but it is a real
    // referrer of its own subject, which the spec lets a registry list (Enabling the API).
    assert.deepEqual(await listed(repo, other.digest), [foreign.manifest.digest]);
    assert.equal((await getManifest(env.registry.url, repo, valid.digest)).status, 200,
      "the client's index manifest is never deleted");
  });
});

describe('untagged referrers pushed straight to the registry', () => {
  it('are found through the registry storage root', async () => {
    const repo = 'untagged/app';
    const subject = await pushSubject(env.registry.url, repo);
    const hidden = artifactManifest({ subject, artifactType: SBOM });
    await pushUntagged(env.registry.url, repo, hidden);

    const tagsOnly = await reindex(['--repository', repo]);
    assert.equal(tagsOnly.code, 0, tagsOnly.stderr.toString());
    assert.deepEqual(await listed(repo, subject.digest), []);

    const withStorage = await reindex(['--repository', repo, '--storage-root',
      `${env.registry.rootDir}/data`]);
    assert.equal(withStorage.code, 0, withStorage.stderr.toString());
    assert.deepEqual(await listed(repo, subject.digest), [hidden.manifest.digest]);
  });

  it('refuses a bad repository name with one line naming it', async () => {
    const result = await reindex(['--repository', 'Not/Valid']);
    assert.equal(result.code, 2);
    assert.match(result.stderr.toString(), /--repository: "Not\/Valid" is not a repository name/);
  });
});
