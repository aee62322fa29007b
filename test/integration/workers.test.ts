// --workers N: N processes share the listening socket. Pushes, pulls and the referrers API
// work through them, a worker killed with SIGKILL is replaced while the proxy keeps serving,
// and SIGTERM to the primary stops every worker.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  artifactManifest, descriptorOf, randomImage, type OciImage,
} from '../support/oci-layout.js';
import { waitFor } from '../support/ports.js';
import { spawnProxy, type ProxyProcess } from '../support/proxy-process.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startRegistry, type Registry } from '../support/registry.js';
import { getManifest, pushBlob, pushImage, pushManifest } from '../support/registry-client.js';
import { waitForReferrers } from '../support/waiting.js';

let redis: RedisServer;
let registry: Registry;
let proxy: ProxyProcess;
before(async () => {
  redis = await startRedis();
  registry = await startRegistry();
  proxy = await spawnProxy(registry.url, redis.url, ['--workers', '2']);
});
after(async () => {
  await proxy.child.stop(5000);
  await Promise.all([registry.stop(), redis.stop()]);
});

/** The primary's child processes: its workers. */
async function workerPids(primary: number): Promise<number[]> {
  const children = await readFile(`/proc/${primary}/task/${primary}/children`, 'utf8')
    .catch(() => '');
  return children.split(' ').filter((pid) => pid !== '').map(Number);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pushes an image and a signature of it, and reads both back, all through the proxy. */
async function pushAndPull(repo: string): Promise<void> {
  const image: OciImage = randomImage({ layerCount: 2 });
  await pushImage(proxy.url, repo, 'v1', image);
  const signature = artifactManifest({ subject: descriptorOf(image.manifest),
    artifactType: 'application/vnd.example.signature.v1+json' });
  for (const blob of signature.blobs) await pushBlob(proxy.url, repo, blob);
  const pushed = await pushManifest(proxy.url, repo, signature.manifest.digest,
    signature.manifest);
  assert.equal(pushed.headers.get('oci-subject'), image.manifest.digest);

  const pulled = await getManifest(proxy.url, repo, 'v1');
  assert.ok(Buffer.from(await pulled.arrayBuffer()).equals(image.manifest.bytes));
  const layer = image.blobs.at(-1);
  const blob = await fetch(`${proxy.url}/v2/${repo}/blobs/${layer?.digest}`);
  assert.ok(Buffer.from(await blob.arrayBuffer()).equals(layer?.bytes ?? Buffer.alloc(0)));
  await waitForReferrers(proxy.url, repo, image.manifest.digest, [signature.manifest.digest]);
}

describe('worker processes', () => {
  const primary = (): number => proxy.child.pid ?? 0;

  it('serves pushes, pulls and referrers from two workers', async () => {
    assert.equal((await workerPids(primary())).length, 2);
    await Promise.all([pushAndPull('workers/a'), pushAndPull('workers/b')]);
  });

  it('replaces a worker killed with SIGKILL and keeps serving', async () => {
    const [killed] = await workerPids(primary());
    assert.ok(killed !== undefined);
    process.kill(killed, 'SIGKILL');

    await waitFor(async () => {
      const pids = await workerPids(primary());
      return pids.length === 2 && !pids.includes(killed);
    }, 'a new worker in place of the killed one', 15_000, () => proxy.child.output());
    await pushAndPull('workers/after-kill');
    assert.ok(!proxy.child.hasExited());
  });

  it('stops every worker on SIGTERM', async () => {
    const workers = await workerPids(primary());
    await proxy.child.stop(10_000);

    assert.equal(proxy.child.status(), 'exited with code 0');
    await waitFor(async () => workers.every((pid) => !isRunning(pid)), 'workers to exit');
  });
});
