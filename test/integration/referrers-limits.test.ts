// Bounds and failures around the referrers index: pagination, the manifest size cap, broken
// subjects, Redis going away, and a push left half done (design.md invariants 1, 2 and 9).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import {
  artifactManifest,
  descriptorOf,
  imageManifest,
  jsonBlob,
  randomImage,
  type Descriptor,
  type OciImage,
} from '../support/oci-layout.js';
import {
  deleteManifest, getManifest, getReferrers, pushBlob, pushImage, pushManifest,
} from '../support/registry-client.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';
import { waitForReferrers, waitUntilReady } from '../support/waiting.js';
import { ChangeJournal } from '../../src/index-store/journal.js';
import { pendingKey } from '../../src/index-store/keys.js';
import { readReferrer } from '../../src/oci/manifest.js';

const SBOM = 'application/spdx+json';
const PAGE_BYTES = 2048;

let env: ProxyEnv;
before(async () => {
  env = await startProxyEnv({
    flags: ['--referrers-page-bytes', String(PAGE_BYTES), '--max-manifest-bytes', '65536'],
    server: { recovery: { settleAfterMs: 0, intervalMs: 3_600_000 } },
  });
});
after(async () => {
  await env.stop();
});

async function pushSubject(repo: string): Promise<Descriptor> {
  const image = randomImage();
  await pushImage(env.url, repo, 'v1', image);
  return descriptorOf(image.manifest);
}

async function pushReferrer(repo: string, artifact: OciImage): Promise<Response> {
  for (const blob of artifact.blobs) await pushBlob(env.url, repo, blob);
  return pushManifest(env.url, repo, artifact.manifest.digest, artifact.manifest);
}

/** Follows Link rel="next" from the first page to the last; returns every page's digests. */
async function readAllPages(firstUrl: string): Promise<{ pages: string[][]; bytes: number[] }> {
  const pages: string[][] = [];
  const bytes: number[] = [];
  let url: string | undefined = firstUrl;
  while (url !== undefined && pages.length < 100) {
    const response: Response = await fetch(url);
    const text = await response.text();
    assert.equal(response.status, 200);
    pages.push((JSON.parse(text) as { manifests: Descriptor[] }).manifests.map((m) => m.digest));
    bytes.push(Buffer.byteLength(text));

    const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
    url = next === undefined ? undefined : new URL(next, env.url).toString();
  }
  return { pages, bytes };
}

describe('pagination past the page size bound', () => {
  it('splits into pages within the bound that together list every referrer once', async () => {
    const subject = await pushSubject('page/many');
    const pushed: string[] = [];
    for (let i = 0; i < 25; i++) {
      const artifact = artifactManifest({ subject, artifactType: i % 2 === 0 ? SBOM : 'a/sig',
        annotations: { n: String(i) } });
      assert.equal((await pushReferrer('page/many', artifact)).status, 201);
      pushed.push(artifact.manifest.digest);
    }

    const first = `${env.url}/v2/page/many/referrers/${subject.digest}`;
    const { pages, bytes } = await readAllPages(first);
    assert.ok(pages.length > 1, 'expected more than one page');
    assert.ok(bytes.every((size) => size <= PAGE_BYTES), `page sizes ${bytes.join(',')}`);
    assert.deepEqual(pages.flat().sort(), pushed.sort());
    assert.equal(new Set(pages.flat()).size, pushed.length);
  });

  it('keeps the filter on every page', async () => {
    const subject = await pushSubject('page/filtered');
    const sboms: string[] = [];
    for (let i = 0; i < 20; i++) {
      const artifact = artifactManifest({ subject, artifactType: i % 4 === 0 ? 'a/sig' : SBOM });
      await pushReferrer('page/filtered', artifact);
      if (i % 4 !== 0) sboms.push(artifact.manifest.digest);
    }

    const first = `${env.url}/v2/page/filtered/referrers/${subject.digest}?artifactType=${SBOM}`;
    const { pages } = await readAllPages(first);
    assert.ok(pages.length > 1);
    assert.deepEqual(pages.flat().sort(), sboms.sort());
  });
});

describe('referrers with large descriptors', () => {
  // Regression: a page read up to 500 descriptors from Redis before checking the size bound;
  // with megabytes of annotations each, one query held every referrer in memory.
  it('are read from Redis no more than the page sends', async () => {
    const subject = await pushSubject('page/large');
    for (let i = 0; i < 20; i++) {
      const annotations = { pad: String(i).repeat(50_000) };
      await pushReferrer('page/large', artifactManifest({ subject, artifactType: SBOM,
        annotations }));
    }

    const redis = new Redis(env.redis.url);
    try {
      const before = await redisOutputBytes(redis);
      const page = await fetch(`${env.url}/v2/page/large/referrers/${subject.digest}`);
      const body = await page.text();
      const sent = (await redisOutputBytes(redis)) - before;

      assert.equal((JSON.parse(body) as { manifests: unknown[] }).manifests.length, 1);
      assert.ok(sent < 4 * Buffer.byteLength(body), `Redis sent ${sent} bytes for one page`);
    } finally {
      redis.disconnect();
    }
  });
});

async function redisOutputBytes(redis: Redis): Promise<number> {
  const stats = await redis.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(stats)?.[1]);
}

describe('manifest size cap', () => {
  it('refuses an oversized manifest with 413 and an OCI body, forwarding nothing', async () => {
    const subject = await pushSubject('cap/big');
    const padding = { pad: 'x'.repeat(70_000) };
    const big = artifactManifest({ subject, artifactType: SBOM, annotations: padding });

    const pushed = await pushReferrer('cap/big', big);
    assert.equal(pushed.status, 413);
    const body = await pushed.json() as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'SIZE_INVALID');
    assert.equal((await getManifest(env.registry.url, 'cap/big', big.manifest.digest)).status, 404);
  });

  it('keeps serving on the next request after refusing', async () => {
    const listing = await getReferrers(env.url, 'cap/big', `sha256:${'1'.repeat(64)}`);
    assert.equal(listing.status, 200);
  });
});

describe('manifests with a broken subject', () => {
  it('are refused with 400 MANIFEST_INVALID and never reach the registry', async () => {
    const config = jsonBlob('application/vnd.oci.empty.v1+json', {});
    const layer = jsonBlob('application/octet-stream', { a: 1 });
    await pushBlob(env.url, 'bad/subject', config);
    await pushBlob(env.url, 'bad/subject', layer);
    const broken = imageManifest({ config, layers: [layer], artifactType: SBOM,
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:zz',
        size: 1 } });

    const pushed = await pushManifest(env.url, 'bad/subject', broken.digest, broken);
    assert.equal(pushed.status, 400);
    const body = await pushed.json() as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'MANIFEST_INVALID');
    assert.equal((await getManifest(env.registry.url, 'bad/subject', broken.digest)).status, 404);
  });
});

describe('while Redis is unreachable', () => {
  it('refuses pushes with a subject with 503 and Retry-After, and passes others', async () => {
    const subject = await pushSubject('down/app');
    const before = artifactManifest({ subject, artifactType: 'a/sig' });
    assert.equal((await pushReferrer('down/app', before)).status, 201);
    const sbom = artifactManifest({ subject, artifactType: SBOM });
    for (const blob of sbom.blobs) await pushBlob(env.url, 'down/app', blob);

    env.redis.kill('SIGKILL');
    await waitUntilRefused(env.redis.port);
    try {
      const refused = await pushManifest(env.url, 'down/app', sbom.manifest.digest, sbom.manifest);
      assert.equal(refused.status, 503);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      assert.match(await refused.text(), /"code":"UNAVAILABLE"/);
      const stored = await getManifest(env.registry.url, 'down/app', sbom.manifest.digest);
      assert.equal(stored.status, 404, 'a refused push must not reach the registry');

      const plain = randomImage();
      assert.equal((await pushImage(env.url, 'down/app', 'plain', plain)).status, 201);
      assert.equal((await fetch(`${env.url}/readyz`)).status, 503);
    } finally {
      await env.redis.restart();
    }
    await waitUntilReady(env.url);

    // The restarted Redis replayed its append-only file: nothing indexed before is lost.
    const listing = await getReferrers(env.url, 'down/app', subject.digest);
    assert.deepEqual(listing.body?.manifests?.map((m) => m.digest), [before.manifest.digest]);
    assert.equal((await pushReferrer('down/app', sbom)).status, 201, 'a retry goes through');
  });
});

describe('index changes left half done by a crash', () => {
  it('are settled from what the registry holds', async () => {
    const subject = await pushSubject('crash/app');
    const stored = artifactManifest({ subject, artifactType: SBOM });
    const lost = artifactManifest({ subject, artifactType: 'a/sig' });
    const deleted = artifactManifest({ subject, artifactType: 'a/att' });
    const kept = artifactManifest({ subject, artifactType: 'a/vex' });
    // As if the proxy died right after forwarding: the registry got `stored` but never `lost`,
    // and deleted `deleted` but not `kept`.
    await pushImage(env.registry.url, 'crash/app', 'sbom', stored);
    for (const artifact of [deleted, kept]) await pushReferrer('crash/app', artifact);
    const deletion = await deleteManifest(env.registry.url, 'crash/app', deleted.manifest.digest);
    assert.equal(deletion.status, 202);

    const redis = new Redis(env.redis.url);
    try {
      const journal = new ChangeJournal(redis);
      for (const artifact of [stored, lost]) {
        const referrer = readReferrer(artifact.manifest.bytes, artifact.manifest.mediaType,
          artifact.manifest.digest);
        assert.ok(referrer !== undefined);
        await journal.record({ op: 'add', repository: 'crash/app', referrer, since: 0 });
      }
      for (const artifact of [deleted, kept]) {
        await journal.record({ op: 'remove', repository: 'crash/app',
          digest: artifact.manifest.digest, since: 0 });
      }

      const before = [deleted, kept].map((a) => a.manifest.digest);
      await waitForReferrers(env.url, 'crash/app', subject.digest, before);
      await env.restartProxy();
      const after = [stored, kept].map((a) => a.manifest.digest);
      await waitForReferrers(env.url, 'crash/app', subject.digest, after);
      assert.equal(await redis.hlen(pendingKey('crash/app')), 0, 'the journal is settled');
    } finally {
      redis.disconnect();
    }
  });
});

async function waitUntilRefused(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(false)).once('error', () => resolve(true));
      socket.unref();
    });
    if (refused) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} still accepts connections`);
}
