// The index on a three-master Redis Cluster: every key of a repository shares one hash slot,
// so the transactions of push, delete, journal and mirror run there as on a single server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { parseConfig, readRawSettings } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { referrersTag } from '../../src/oci/referrers-tag.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { artifactManifest, descriptorOf, randomImage } from '../support/oci-layout.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { startRegistry, type Registry } from '../support/registry.js';
import {
  deleteManifest, getManifest, getReferrers, pushBlob, pushImage, pushManifest,
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
