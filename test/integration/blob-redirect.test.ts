// --blob-redirect: blob GETs are answered 307 to the registry's own address, which then
// authorises and serves the read itself; everything else passes through as usual.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomImage } from '../support/oci-layout.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';
import { getManifest, pushImage } from '../support/registry-client.js';
import { skopeoRoundTrip } from '../support/skopeo.js';

let env: ProxyEnv;
before(async () => {
  env = await startProxyEnv();
  await env.restartProxy(['--blob-redirect', env.registry.url]);
});
after(async () => {
  await env.stop();
});

describe('blob redirect mode', () => {
  it('skopeo copies an image in and back out with identical digests', async () => {
    const image = randomImage({ layerCount: 3, layerSize: 128 * 1024 });
    assert.equal(await skopeoRoundTrip(env.url, 'redirect/app', image), image.manifest.digest);

    const redirected = env.logs.requests().filter((line) => line.route === 'blob'
      && line.method === 'GET' && line.status === 307);
    assert.ok(redirected.length >= image.blobs.length, 'blob reads went to the registry');
  });

  it('answers a blob GET 307 to the registry, query kept, and a follower gets it', async () => {
    const image = randomImage({ layerSize: 64 * 1024 });
    await pushImage(env.url, 'redirect/follow', 'v1', image);
    const layer = image.blobs.at(-1);
    const path = `/v2/redirect/follow/blobs/${layer?.digest}?ns=example.test`;

    const first = await fetch(env.url + path, { redirect: 'manual' });
    assert.equal(first.status, 307);
    assert.equal(first.headers.get('location'), env.registry.url + path);

    const followed = await fetch(env.url + path); // fetch follows like curl -L
    assert.equal(followed.status, 200);
    assert.equal(followed.url, env.registry.url + path);
    assert.ok(Buffer.from(await followed.arrayBuffer()).equals(layer?.bytes ?? Buffer.alloc(0)));
  });

  it('still streams blob HEADs and manifests; a missing blob gets the registry 404', async () => {
    const image = randomImage();
    await pushImage(env.url, 'redirect/other', 'v1', image);
    const layer = image.blobs.at(-1);

    const head = await fetch(`${env.url}/v2/redirect/other/blobs/${layer?.digest}`,
      { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(layer?.size));
    assert.equal((await getManifest(env.url, 'redirect/other', 'v1')).status, 200);

    const missing = `/v2/redirect/other/blobs/sha256:${'0'.repeat(64)}`;
    const followed = await fetch(env.url + missing);
    assert.equal(followed.status, 404); // the registry's own answer, after the redirect
  });
});
