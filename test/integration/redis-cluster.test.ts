// The index on a three-master Redis Cluster: every key of a repository shares one hash slot,
// so the transactions of push, delete, journal and mirror run there as on a single server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { parseConfig, readRawSettings } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { ReferrersIndex } from '../../src/index-store/referrers-index.js';
import { referrersTag } from '../../src/oci/referrers-tag.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactManifest, descriptorOf, randomImage } from '../support/oci-layout.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { fakeDigest, indexFakeReferrers, readAllPages } from '../support/index-fixtures.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { startRegistry, type Registry } from '../support/registry.js';
import {
  deleteManifest, getManifest, getReferrers, pushArtifact, pushBlob, pushImage, pushManifest,
} from '../support/registry-client.js';

let cluster: RedisCluster;
let registry: Registry;
let proxy: RunningServer;

before(async () => {
  cluster = await startRedisCluster();
  registry = await startRegistry();
  const config = parseConfig(readRawSettings(['--upstream', registry.url, '--redis',
    cluster.url, '--redis-cluster', 'on', '--listen', '127.0.0.1:0'], {}));
  proxy = await startServer(config, { logger: createLogger('silent'),
    mirror: { intervalMs: 200, debounceMs: 50 } });
});
after(async () => {
  await proxy.close();
  await Promise.all([registry.stop(), cluster.stop()]);
});

describe('lifecycle on a Redis Cluster', () => {
  const token = 'cluster-admin-token-0123456789';
  let lifecycle: RunningServer;
  let dir: string;
  before(async () => {
    dir = await makeTempDir('cluster-policy');
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ retention: [{ name: 'one-sig',
      repository: 'cluster/**', artifactType: 'a/sig', keepNewest: 1 }] }));
    const config = parseConfig(readRawSettings(['--upstream', registry.url, '--redis',
      cluster.url, '--redis-cluster', 'on', '--listen', '127.0.0.1:0', '--policy-file', policy,
      '--admin-token', token], {}));
    lifecycle = await startServer(config, { logger: createLogger('silent'),
      mirror: { intervalMs: 200, debounceMs: 50 } });
  });
  after(async () => {
    await lifecycle.close();
    await removeTempDir(dir);
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${lifecycle.url}/_referrers-proxy/admin/${path}`, { method,
      headers: { authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body) });

  it('locks tags, runs retention and cascades as on a single server', async () => {
    const repo = 'cluster/life';
    const image = randomImage();
    await pushImage(lifecycle.url, repo, 'v1', image);
    const subject = descriptorOf(image.manifest);
    const signatures = ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'].map((created) =>
      artifactManifest({ subject, artifactType: 'a/sig',
        annotations: { 'org.opencontainers.image.created': created } }));
    for (const artifact of signatures) {
      assert.equal((await pushArtifact(lifecycle.url, repo, artifact)).status, 201);
    }

    assert.equal((await admin('PUT', 'tag-locks/v1', { repository: repo, tag: 'v1' })).status,
      201);
    const other = randomImage();
    for (const blob of other.blobs) await pushBlob(lifecycle.url, repo, blob);
    assert.equal((await pushManifest(lifecycle.url, repo, 'v1', other.manifest)).status, 403);

    const run = await admin('POST', `retention?repository=${repo}`);
    const report = await run.json() as { deleted: { digest: string }[] };
    assert.deepEqual(report.deleted.map((entry) => entry.digest),
      [signatures[0]?.manifest.digest]);

    assert.equal((await admin('DELETE', 'tag-locks/v1')).status, 200);
    const cascade = await fetch(`${lifecycle.url}/v2/${repo}/manifests/${subject.digest}`
      + '?cascade=true', { method: 'DELETE' });
    assert.equal(cascade.status, 202, await cascade.text());
    const listing = await getReferrers(lifecycle.url, repo, subject.digest);
    assert.deepEqual(listing.body?.manifests, []);
  });
});

describe('the index on a Redis Cluster', () => {
  const repositories = Array.from({ length: 8 }, (_, n) => `cluster/app${n}`);

  it('indexes, lists, filters, deletes and mirrors across many repositories', async () => {
    for (const repo of repositories) {
      const image = randomImage();
      await pushImage(proxy.url, repo, 'v1', image);
      const subject = descriptorOf(image.manifest);
      const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
      const signature = artifactManifest({ subject, artifactType: 'a/sig' });
      for (const artifact of [sbom, signature]) {
        for (const blob of artifact.blobs) await pushBlob(proxy.url, repo, blob);
        const pushed = await pushManifest(proxy.url, repo, artifact.manifest.digest,
          artifact.manifest);
        assert.equal(pushed.headers.get('oci-subject'), subject.digest);
      }

      const filtered = await getReferrers(proxy.url, repo, subject.digest, 'a/sig');
      assert.deepEqual(filtered.body?.manifests?.map((m) => m.digest),
        [signature.manifest.digest]);
      assert.equal((await deleteManifest(proxy.url, repo, signature.manifest.digest)).status,
        202);
      const listing = await getReferrers(proxy.url, repo, subject.digest);
      assert.deepEqual(listing.body?.manifests?.map((m) => m.digest), [sbom.manifest.digest]);
      await waitForMirror(repo, subject.digest);
    }
  });

  it('keeps all keys of one repository in one hash slot', async () => {
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] ?? 0 }]);
    await new Promise((resolve) => client.once('ready', resolve));
    try {
      for (const repo of repositories) {
        const keys = await keysOf(client, `rp:v1:{${repo}}:*`);
        assert.ok(keys.length >= 4, `${repo} has keys ${keys.join(', ')}`);
        const slots = new Set(await Promise.all(keys.map((key) =>
          client.cluster('KEYSLOT', key))));
        assert.equal(slots.size, 1, `${repo}: ${keys.join(', ')}`);
      }
    } finally {
      client.disconnect();
    }
  });
});

describe('the page script on a Redis Cluster', () => {
  it('reads filtered, bounded pages of repositories on every node, even after a flush',
    async () => {
      const client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] ?? 0 }]);
      await new Promise((resolve) => client.once('ready', resolve));
      const index = new ReferrersIndex(client);
      const subject = fakeDigest(123_456);
      try {
        await Promise.all(client.nodes('master').map((node) => node.script('FLUSH')));
        for (const repo of Array.from({ length: 6 }, (_, n) => `cluster/page${n}`)) {
          await indexFakeReferrers(client, repo, subject, 30, (n) => (n % 2 ? 'a/sig' : 'a/sbom'));
          const pages = await readAllPages(index, repo, subject, ['a/sbom'], 1024);
          assert.ok(pages.length > 1, `${repo}: ${pages.length} page(s)`);
          assert.ok(pages.every((page) => page.bytes <= 1024));
          assert.deepEqual(pages.flatMap((page) => page.digests),
            Array.from({ length: 15 }, (_, n) => fakeDigest(2 * n)));
        }
      } finally {
        client.disconnect();
      }
    });
});

async function keysOf(client: Cluster, pattern: string): Promise<string[]> {
  const perNode = await Promise.all(client.nodes('master').map((node) => node.keys(pattern)));
  return perNode.flat();
}

async function waitForMirror(repo: string, subject: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const tag = await getManifest(registry.url, repo, referrersTag(subject),
      'application/vnd.oci.image.index.v1+json');
    if (tag.status === 200) return;
    await sleep(100);
  }
  throw new Error(`no mirror tag for ${repo}`);
}
