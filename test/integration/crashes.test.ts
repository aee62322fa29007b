// Crashes lose no accepted referrer and index no rejected one (design.md invariants 1 and 2):
// the proxy killed with SIGKILL in the middle of a burst of pushes, and the registry killed
// under the proxy. Afterwards, once recovery has settled the journal, the listing is exactly
// what the registry holds, and every push answered with OCI-Subject is in it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig, readRawSettings } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import {
  artifactManifest, descriptorOf, randomImage, type OciImage,
} from '../support/oci-layout.js';
import { spawnProxy } from '../support/proxy-process.js';
import { waitForReferrers } from '../support/waiting.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startRegistry, type Registry } from '../support/registry.js';
import {
  getManifest, pushBlob, pushImage, pushManifest,
} from '../support/registry-client.js';

let redis: RedisServer;
let registry: Registry;
before(async () => {
  redis = await startRedis();
  registry = await startRegistry();
});
after(async () => {
  await Promise.all([registry.stop(), redis.stop()]);
});

/** A proxy in this process whose recovery settles every journal entry at once. */
function settlingProxy(): Promise<RunningServer> {
  const config = parseConfig(readRawSettings(['--upstream', registry.url, '--redis', redis.url,
    '--listen', '127.0.0.1:0'], {}));
  return startServer(config, { logger: createLogger('silent'),
    recovery: { settleAfterMs: 0, intervalMs: 200 } });
}

async function prepare(repo: string, count: number) {
  const image = randomImage();
  await pushImage(registry.url, repo, 'v1', image);
  const subject = descriptorOf(image.manifest);
  const artifacts = Array.from({ length: count }, (_, n) =>
    artifactManifest({ subject, artifactType: 'a/sig', annotations: { n: String(n) } }));
  for (const artifact of artifacts) {
    for (const blob of artifact.blobs) await pushBlob(registry.url, repo, blob);
  }
  return { subject, artifacts };
}

/** Pushes each artifact through `base`; returns the digests answered with OCI-Subject. */
async function pushAll(base: string, repo: string, artifacts: OciImage[]): Promise<string[]> {
  const acknowledged: string[] = [];
  await Promise.all(artifacts.map(async (artifact) => {
    const response = await pushManifest(base, repo, artifact.manifest.digest, artifact.manifest)
      .catch(() => undefined);
    if (response?.headers.get('oci-subject') !== null && response?.status === 201) {
      acknowledged.push(artifact.manifest.digest);
    }
  }));
  return acknowledged;
}

async function heldByRegistry(repo: string, artifacts: OciImage[]): Promise<string[]> {
  const held: string[] = [];
  for (const artifact of artifacts) {
    const response = await getManifest(registry.url, repo, artifact.manifest.digest);
    if (response.status === 200) held.push(artifact.manifest.digest);
  }
  return held.sort();
}

describe('SIGKILL of the proxy during a burst of pushes', () => {
  it('loses no accepted referrer and indexes none the registry lacks', async () => {
    const { subject, artifacts } = await prepare('crash/kill', 40);
    const doomed = await spawnProxy(registry.url, redis.url, ['--mirror', 'off']);

    const pushing = pushAll(doomed.url, 'crash/kill', artifacts);
    await sleep(30);
    doomed.child.kill('SIGKILL');
    const acknowledged = await pushing;
    await doomed.child.exited;

    const survivor = await settlingProxy();
    try {
      const held = await heldByRegistry('crash/kill', artifacts);
      // Locks the killed proxy held expire within 10 s; recovery waits for them.
      const listed = await waitForReferrers(survivor.url, 'crash/kill', subject.digest, held,
        400);
      assert.ok(acknowledged.every((digest) => listed.includes(digest)),
        'every push answered with OCI-Subject is listed');
    } finally {
      await survivor.close();
    }
  });
});

describe('the registry killed under the proxy', () => {
  it('leaves the listing equal to what the registry holds once it is back', async () => {
    const { subject, artifacts } = await prepare('crash/upstream', 40);
    const proxy = await settlingProxy();
    try {
      const pushing = pushAll(proxy.url, 'crash/upstream', artifacts);
      await sleep(80);
      registry.kill('SIGKILL');
      const acknowledged = await pushing;
      await registry.restart();

      const held = await heldByRegistry('crash/upstream', artifacts);
      const listed = await waitForReferrers(proxy.url, 'crash/upstream', subject.digest, held,
        400);
      assert.ok(acknowledged.every((digest) => listed.includes(digest)));
    } finally {
      await proxy.close();
    }
  });
});
