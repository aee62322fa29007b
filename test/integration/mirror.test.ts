// The registry mirrors the index: each subject's referrers tag holds exactly what the
// referrers API answers, superseded index manifests are deleted, and every referrer carries a
// pin tag that keeps it through registry 2.8's garbage collector.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pinTag, referrersTag } from '../../src/oci/referrers-tag.js';
import {
  artifactManifest, descriptorOf, imageIndex, randomImage, type Descriptor, type OciImage,
} from '../support/oci-layout.js';
import { runCommand } from '../support/process.js';
import {
  deleteManifest, getManifest, pushBlob, pushImage, pushManifest,
} from '../support/registry-client.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';
import { waitForPin, waitForReferrers, waitUntilReady } from '../support/waiting.js';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const FAST_MIRROR = { server: { mirror: { intervalMs: 200, debounceMs: 50 } } };

let env: ProxyEnv;
before(async () => {
  env = await startProxyEnv(FAST_MIRROR);
});
after(async () => {
  await env.stop();
});

async function pushSubject(base: string, repo: string): Promise<Descriptor> {
  const image = randomImage();
  await pushImage(base, repo, 'v1', image);
  return descriptorOf(image.manifest);
}

async function pushReferrer(base: string, repo: string, artifact: OciImage): Promise<void> {
  for (const blob of artifact.blobs) await pushBlob(base, repo, blob);
  const response = await pushManifest(base, repo, artifact.manifest.digest, artifact.manifest);
  assert.equal(response.status, 201);
}

/** The referrers tag as the registry itself serves it: status and bytes. */
async function mirrorTag(repo: string, subject: string) {
  const response = await getManifest(env.registry.url, repo, referrersTag(subject), INDEX);
  return {
    status: response.status,
    text: await response.text(),
    digest: response.headers.get('docker-content-digest'),
  };
}

/** Waits until the referrers tag holds exactly what the referrers API answers. */
async function waitForMirror(repo: string, subject: string, base = env.url): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    const api = await (await fetch(`${base}/v2/${repo}/referrers/${subject}`)).text();
    const tag = await mirrorTag(repo, subject);
    const apiEmpty = (JSON.parse(api) as { manifests: unknown[] }).manifests.length === 0;
    if ((apiEmpty && tag.status === 404) || (tag.status === 200 && tag.text === api)) {
      return tag.digest ?? '';
    }
    last = `api ${api} / tag ${tag.status} ${tag.text}`;
    await sleep(100);
  }
  throw new Error(`mirror never matched the API: ${last}`);
}

describe('the referrers tag', () => {
  it('follows adds and removes, and superseded index manifests are deleted', async () => {
    const subject = await pushSubject(env.url, 'mirror/app');
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
    const signature = artifactManifest({ subject, artifactType: 'a/sig' });
    await pushReferrer(env.url, 'mirror/app', sbom);
    await pushReferrer(env.url, 'mirror/app', signature);
    const both = await waitForMirror('mirror/app', subject.digest);

    await deleteManifest(env.url, 'mirror/app', signature.manifest.digest);
    const one = await waitForMirror('mirror/app', subject.digest);
    assert.notEqual(one, both);
    assert.equal((await getManifest(env.registry.url, 'mirror/app', both, INDEX)).status, 404,
      'the superseded index manifest is deleted');

    await deleteManifest(env.url, 'mirror/app', sbom.manifest.digest);
    await waitForMirror('mirror/app', subject.digest);
    assert.equal((await getManifest(env.registry.url, 'mirror/app', one, INDEX)).status, 404);
  });

  it('coalesces a burst of pushes into fewer writes, ending exact', async () => {
    const subject = await pushSubject(env.url, 'mirror/burst');
    const artifacts = Array.from({ length: 30 }, (_, n) =>
      artifactManifest({ subject, artifactType: 'a/sig', annotations: { n: String(n) } }));
    for (const artifact of artifacts) {
      for (const blob of artifact.blobs) await pushBlob(env.url, 'mirror/burst', blob);
    }
    const writesBefore = mirrorWrites('mirror/burst');

    await Promise.all(artifacts.map((artifact) => pushManifest(env.url, 'mirror/burst',
      artifact.manifest.digest, artifact.manifest)));
    await waitForMirror('mirror/burst', subject.digest);
    const tag = JSON.parse((await mirrorTag('mirror/burst', subject.digest)).text) as
      { manifests: Descriptor[] };
    assert.equal(tag.manifests.length, 30);
    const writes = mirrorWrites('mirror/burst') - writesBefore;
    assert.ok(writes < 30, `${writes} mirror writes for 30 pushes`);
  });
});

function mirrorWrites(repository: string): number {
  return env.logs.lines.filter((line) => line.msg === 'mirror tag written'
    && line.repository === repository).length;
}

describe('a referrer deleted behind the proxy', () => {
  // Regression: the mirror PUT of an index listing it failed forever and was retried every
  // 200 ms; the index is derived data, so a referrer the registry confirms missing leaves it.
  it('is unlisted when the mirror finds it missing, and the tag catches up', async () => {
    const subject = await pushSubject(env.url, 'mirror/behind');
    const kept = artifactManifest({ subject, artifactType: 'a/sig' });
    const gone = artifactManifest({ subject, artifactType: 'a/sbom' });
    await pushReferrer(env.url, 'mirror/behind', kept);
    await pushReferrer(env.url, 'mirror/behind', gone);
    await waitForMirror('mirror/behind', subject.digest);
    assert.equal((await deleteManifest(env.registry.url, 'mirror/behind', gone.manifest.digest))
      .status, 202);

    const late = artifactManifest({ subject, artifactType: 'a/att' });
    await pushReferrer(env.url, 'mirror/behind', late);
    await waitForReferrers(env.url, 'mirror/behind', subject.digest,
      [kept.manifest.digest, late.manifest.digest]);
    await waitForMirror('mirror/behind', subject.digest);
  });
});

describe('pin tags', () => {
  it('keep referrers through garbage-collect --delete-untagged', async () => {
    const subject = await pushSubject(env.url, 'mirror/gc');
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
    await pushReferrer(env.url, 'mirror/gc', sbom);
    await waitForMirror('mirror/gc', subject.digest);
    await waitForPin(env.registry.url, 'mirror/gc', sbom.manifest.digest);

    env.registry.kill('SIGTERM');
    const gc = await runCommand('docker-registry', ['garbage-collect', '--delete-untagged',
      env.registry.configPath], { timeoutMs: 60_000 });
    await env.registry.restart();
    assert.equal(gc.code, 0, gc.stderr.toString());

    const kept = await getManifest(env.registry.url, 'mirror/gc', sbom.manifest.digest);
    assert.equal(kept.status, 200, 'the referrer survived garbage collection');
  });
});

describe('two proxies sharing one Redis', () => {
  it('50 concurrent pushes and deletes leave the API and the mirror tag exact', async () => {
    const second = await env.startAnotherProxy();
    const subject = await pushSubject(env.url, 'mirror/race');
    const artifacts = Array.from({ length: 50 }, (_, n) =>
      artifactManifest({ subject, artifactType: n % 2 === 0 ? 'a/sig' : 'a/sbom' }));
    for (const artifact of artifacts) {
      for (const blob of artifact.blobs) await pushBlob(env.url, 'mirror/race', blob);
    }

    const proxies = [env.url, second.url];
    await Promise.all(artifacts.map((artifact, n) => pushManifest(proxies[n % 2] ?? env.url,
      'mirror/race', artifact.manifest.digest, artifact.manifest)));
    const doomed = artifacts.filter((_, n) => n % 5 === 0);
    const deletions = await Promise.all(doomed.map((artifact, n) => deleteManifest(
      proxies[n % 2] ?? env.url, 'mirror/race', artifact.manifest.digest)));
    assert.deepEqual(deletions.map((response) => response.status), doomed.map(() => 202));

    const expected = artifacts.filter((a) => !doomed.includes(a)).map((a) => a.manifest.digest);
    await waitForMirror('mirror/race', subject.digest, second.url);
    const api = await (await fetch(`${env.url}/v2/mirror/race/referrers/${subject.digest}`))
      .json() as { manifests: Descriptor[] };
    assert.deepEqual(api.manifests.map((m) => m.digest).sort(), expected.sort());
  });
});

describe('a push and a delete of the same referrer racing', () => {
  // Regression: the delete reached the registry between the push's acceptance and its index
  // write, so the referrer stayed listed after the registry had deleted it.
  it('end with the listing agreeing with the registry', async () => {
    const second = await env.startAnotherProxy();
    const subject = await pushSubject(env.url, 'mirror/pushdelete');
    const artifacts = Array.from({ length: 30 }, () =>
      artifactManifest({ subject, artifactType: 'a/sig' }));
    for (const artifact of artifacts) {
      for (const blob of artifact.blobs) await pushBlob(env.url, 'mirror/pushdelete', blob);
    }

    await Promise.all(artifacts.flatMap((artifact) => [
      pushManifest(env.url, 'mirror/pushdelete', artifact.manifest.digest, artifact.manifest),
      deleteManifest(second.url, 'mirror/pushdelete', artifact.manifest.digest),
    ]));

    const held: string[] = [];
    for (const artifact of artifacts) {
      const stored = await getManifest(env.registry.url, 'mirror/pushdelete',
        artifact.manifest.digest);
      if (stored.status === 200) held.push(artifact.manifest.digest);
    }
    const api = await (await fetch(`${env.url}/v2/mirror/pushdelete/referrers/${subject.digest}`))
      .json() as { manifests: Descriptor[] };
    assert.deepEqual(api.manifests.map((m) => m.digest).sort(), held.sort());
  });
});

describe('settings', () => {
  it('--mirror off and --pin-referrers off write no tags', async () => {
    const quiet = await startProxyEnv({ ...FAST_MIRROR,
      flags: ['--mirror', 'off', '--pin-referrers', 'off'] });
    try {
      const subject = await pushSubject(quiet.url, 'mirror/off');
      const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
      await pushReferrer(quiet.url, 'mirror/off', sbom);
      await sleep(1000);

      const tags = await (await fetch(`${quiet.registry.url}/v2/mirror/off/tags/list`)).json() as
        { tags: string[] };
      assert.deepEqual(tags.tags, ['v1']);
    } finally {
      await quiet.stop();
    }
  });
});

describe('tag listing through the proxy', () => {
  let subject: Descriptor;

  before(async () => {
    const images = [randomImage(), randomImage(), randomImage()];
    for (const [n, image] of images.entries()) {
      await pushImage(env.url, 'mirror/tags', `v${n + 1}`, image);
    }
    subject = descriptorOf(images[0]?.manifest ?? randomImage().manifest);
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
    await pushReferrer(env.url, 'mirror/tags', sbom);
    await waitForMirror('mirror/tags', subject.digest);
    await waitForPin(env.registry.url, 'mirror/tags', sbom.manifest.digest);
  });

  async function tagsOf(url: string) {
    const response = await fetch(url);
    const body = await response.json() as { name: string; tags: string[] };
    return { status: response.status, tags: body.tags, link: response.headers.get('link') };
  }

  it('hides mirror and pin tags, which the registry itself lists', async () => {
    const direct = await tagsOf(`${env.registry.url}/v2/mirror/tags/tags/list`);
    assert.ok(direct.tags.includes(referrersTag(subject.digest)));
    assert.equal(direct.tags.length, 5);

    const proxied = await tagsOf(`${env.url}/v2/mirror/tags/tags/list`);
    assert.deepEqual(proxied.tags, ['v1', 'v2', 'v3']);
    assert.equal(proxied.link, null);
  });

  it('pages with n, last and Link over the visible tags', async () => {
    const first = await tagsOf(`${env.url}/v2/mirror/tags/tags/list?n=2`);
    assert.deepEqual(first.tags, ['v1', 'v2']);
    assert.equal(first.link, '</v2/mirror/tags/tags/list?n=2&last=v2>; rel="next"');

    const second = await tagsOf(`${env.url}${/<([^>]+)>/.exec(first.link ?? '')?.[1]}`);
    assert.deepEqual(second.tags, ['v3']);
    assert.equal(second.link, null);
    assert.deepEqual((await tagsOf(`${env.url}/v2/mirror/tags/tags/list?last=v1`)).tags,
      ['v2', 'v3']);
    assert.deepEqual((await tagsOf(`${env.url}/v2/mirror/tags/tags/list?n=0`)).tags, []);
  });

  it('refuses an invalid n with 400 and an OCI error body', async () => {
    const response = await fetch(`${env.url}/v2/mirror/tags/tags/list?n=-3`);
    const body = await response.json() as { errors: { code: string }[] };
    assert.equal(response.status, 400);
    assert.equal(body.errors[0]?.code, 'PAGINATION_NUMBER_INVALID');
  });

  it('shows them all with --show-internal-tags on', async () => {
    const showing = await env.startAnotherProxy(['--show-internal-tags', 'on']);
    const listed = await tagsOf(`${showing.url}/v2/mirror/tags/tags/list`);
    assert.equal(listed.tags.length, 5);
    assert.ok(listed.tags.includes(referrersTag(subject.digest)));
  });
});

describe('while Redis is unreachable', () => {
  it('the referrers API answers from the referrers tag, and says so', async () => {
    const subject = await pushSubject(env.url, 'mirror/degraded');
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
    const signature = artifactManifest({ subject, artifactType: 'a/sig' });
    await pushReferrer(env.url, 'mirror/degraded', sbom);
    await pushReferrer(env.url, 'mirror/degraded', signature);
    await waitForMirror('mirror/degraded', subject.digest);
    const healthy = await (await fetch(`${env.url}/v2/mirror/degraded/referrers/${subject.digest}`))
      .text();

    env.redis.kill('SIGKILL');
    try {
      const base = `${env.url}/v2/mirror/degraded/referrers`;
      const degraded = await fetch(`${base}/${subject.digest}`);
      assert.equal(degraded.status, 200);
      assert.equal(degraded.headers.get('referrers-proxy-source'), 'mirror');
      assert.equal(await degraded.text(), healthy);

      const filtered = await fetch(`${base}/${subject.digest}?artifactType=a/sig`);
      const body = await filtered.json() as { manifests: Descriptor[] };
      assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
      assert.deepEqual(body.manifests.map((m) => m.digest), [signature.manifest.digest]);

      const unknown = await fetch(`${base}/sha256:${'9'.repeat(64)}`);
      assert.equal(unknown.status, 200);
      assert.deepEqual(await unknown.json(), { schemaVersion: 2, mediaType: INDEX, manifests: [] });
    } finally {
      await env.redis.restart();
    }
    await waitUntilReady(env.url);
  });
});

describe('what the second breaker found', () => {
  // Regression: the pinned set kept a deleted referrer, so the same bytes pushed again were
  // never pinned, and garbage collection took them while the API still listed them.
  it('pins a referrer again when it is deleted and pushed again', async () => {
    const subject = await pushSubject(env.url, 'mirror/repin');
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
    await pushReferrer(env.url, 'mirror/repin', sbom);
    await waitForPin(env.registry.url, 'mirror/repin', sbom.manifest.digest);

    assert.equal((await deleteManifest(env.url, 'mirror/repin', sbom.manifest.digest)).status,
      202);
    await pushReferrer(env.url, 'mirror/repin', sbom);
    await waitForPin(env.registry.url, 'mirror/repin', sbom.manifest.digest);
  });

  // Regression: the mirror overwrote a client's referrers tag before its entries were read,
  // so referrers listed only there were lost (and the client's index left for GC).
  it("indexes a client's referrers tag before replacing it", async () => {
    const repo = 'mirror/foreign';
    const image = randomImage();
    await pushImage(env.registry.url, repo, 'v1', image);
    const subject = descriptorOf(image.manifest);
    const theirs = artifactManifest({ subject, artifactType: 'a/sig' });
    for (const blob of theirs.blobs) await pushBlob(env.registry.url, repo, blob);
    await pushManifest(env.registry.url, repo, theirs.manifest.digest, theirs.manifest);
    const clientIndex = imageIndex({ manifests: [descriptorOf(theirs.manifest)] });
    assert.equal((await pushManifest(env.registry.url, repo, referrersTag(subject.digest),
      clientIndex)).status, 201);

    const ours = artifactManifest({ subject, artifactType: 'a/sbom' });
    await pushReferrer(env.url, repo, ours);
    await waitForReferrers(env.url, repo, subject.digest,
      [theirs.manifest.digest, ours.manifest.digest]);
    await waitForMirror(repo, subject.digest);
  });

  it('refuses client writes to the tags the proxy maintains', async () => {
    const image = randomImage();
    for (const blob of image.blobs) await pushBlob(env.url, 'mirror/reserved', blob);
    for (const tag of [referrersTag(image.manifest.digest), pinTag(image.manifest.digest)]) {
      const response = await pushManifest(env.url, 'mirror/reserved', tag, image.manifest);
      const body = await response.json() as { errors: { code: string }[] };
      assert.equal(response.status, 403, tag);
      assert.equal(body.errors[0]?.code, 'DENIED');
    }
  });

  // Regression: a subject whose list could never be mirrored (one descriptor over 4 MiB once
  // invalid UTF-8 is replaced) stopped the sweep, and later repositories were never mirrored.
  it('does not let one subject that cannot be mirrored stall the others', async () => {
    const poisoned = await pushSubject(env.url, 'mirror/poison');
    const bomb = artifactManifest({ subject: poisoned, artifactType: 'a/bomb',
      annotations: { pad: 'PLACEHOLDER' } });
    const bytes = Buffer.concat(bomb.manifest.bytes.toString('latin1').split('PLACEHOLDER')
      .flatMap((part, n) => (n === 0 ? [Buffer.from(part, 'latin1')]
        : [Buffer.alloc(1_500_000, 0xff), Buffer.from(part, 'latin1')])));
    for (const blob of bomb.blobs) await pushBlob(env.url, 'mirror/poison', blob);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const pushed = await fetch(`${env.url}/v2/mirror/poison/manifests/${digest}`, {
      method: 'PUT', headers: { 'content-type': bomb.manifest.mediaType },
      body: new Uint8Array(bytes) });
    assert.equal(pushed.status, 201);

    const healthy = await pushSubject(env.url, 'mirror/healthy');
    await pushReferrer(env.url, 'mirror/healthy', artifactManifest({ subject: healthy,
      artifactType: 'a/sig' }));
    await waitForMirror('mirror/healthy', healthy.digest);
  });
});
