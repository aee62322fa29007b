// Pass-through of the distribution API: what a client sees through the proxy is what the
// registry would have answered itself, and URLs it hands out lead back through the proxy.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomImage, randomLayer, type OciImage } from '../support/oci-layout.js';
import { pushBlob, pushImage } from '../support/registry-client.js';
import { skopeoRoundTrip } from '../support/skopeo.js';
import {
  startBasicAuthEnv, startProxyEnv, type BasicAuthEnv, type ProxyEnv,
} from '../support/proxy-env.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const COMPARED_HEADERS = ['content-type', 'content-length', 'docker-content-digest', 'etag',
  'content-range', 'accept-ranges', 'www-authenticate', 'docker-distribution-api-version'];

let env: ProxyEnv;
let image: OciImage;

before(async () => {
  env = await startProxyEnv();
  image = randomImage({ layerCount: 3, layerSize: 64 * 1024 });
  await pushImage(env.url, 'pass/app', 'v1', image);
  await pushImage(env.url, 'pass/other', 'v1', randomImage());
});
after(async () => {
  await env.stop();
});

interface Seen {
  status: number;
  headers: Record<string, string | null>;
  body: Buffer;
}

async function request(base: string, path: string, init: RequestInit = {}): Promise<Seen> {
  const response = await fetch(base + path, { ...init, redirect: 'manual' });
  const body = Buffer.from(await response.arrayBuffer());
  const headers = Object.fromEntries(COMPARED_HEADERS.map((name) => [name,
    response.headers.get(name)]));
  return { status: response.status, headers, body };
}

/** The same request straight to the registry and through the proxy must look the same. */
async function assertSameAnswer(path: string, init: RequestInit = {}): Promise<Seen> {
  const direct = await request(env.registry.url, path, init);
  const proxied = await request(env.url, path, init);
  assert.equal(proxied.status, direct.status, `${init.method ?? 'GET'} ${path}`);
  assert.deepEqual(proxied.headers, direct.headers, `${init.method ?? 'GET'} ${path}`);
  assert.ok(proxied.body.equals(direct.body), `body of ${init.method ?? 'GET'} ${path}`);
  return proxied;
}

describe('a real client through the proxy', () => {
  it('skopeo copies a multi-layer OCI image in and back out with identical digests', async () => {
    const copied = randomImage({ layerCount: 4, layerSize: 256 * 1024 });
    assert.equal(await skopeoRoundTrip(env.url, 'skopeo/app', copied), copied.manifest.digest);
    const direct = await request(env.registry.url, `/v2/skopeo/app/manifests/v1`,
      { headers: { accept: OCI_MANIFEST } });
    assert.equal(direct.headers['docker-content-digest'], copied.manifest.digest);
  });
});

describe('reads arrive unchanged', () => {
  it('manifest HEAD and GET, with Accept negotiation', async () => {
    const accept = { accept: OCI_MANIFEST };
    await assertSameAnswer('/v2/pass/app/manifests/v1', { method: 'HEAD', headers: accept });
    const got = await assertSameAnswer('/v2/pass/app/manifests/v1', { headers: accept });
    assert.ok(got.body.equals(image.manifest.bytes));
    await assertSameAnswer(`/v2/pass/app/manifests/${image.manifest.digest}`, { headers: accept });
    await assertSameAnswer('/v2/pass/app/manifests/v1',
      { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  });

  it('blob GET, HEAD and Range GET', async () => {
    const layer = image.blobs[1];
    assert.ok(layer !== undefined);
    const path = `/v2/pass/app/blobs/${layer.digest}`;
    await assertSameAnswer(path, { method: 'HEAD' });
    const whole = await assertSameAnswer(path);
    assert.ok(whole.body.equals(layer.bytes));

    const ranged = await assertSameAnswer(path, { headers: { range: 'bytes=100-4195' } });
    assert.equal(ranged.status, 206);
    assert.ok(ranged.body.equals(layer.bytes.subarray(100, 4196)));
  });

  it('tag list, catalog and their pagination Link', async () => {
    const direct = await (await fetch(`${env.registry.url}/v2/pass/app/tags/list`)).json();
    const proxied = await fetch(`${env.url}/v2/pass/app/tags/list`);
    assert.equal(proxied.headers.get('content-type'), 'application/json');
    assert.deepEqual(await proxied.json(), direct);
    await assertSameAnswer('/v2/_catalog');

    const directPage = await fetch(`${env.registry.url}/v2/_catalog?n=1`);
    const proxiedPage = await fetch(`${env.url}/v2/_catalog?n=1`);
    assert.deepEqual(await proxiedPage.json(), await directPage.json());
    const link = proxiedPage.headers.get('link') ?? '';
    assert.match(link, /rel="next"/);
    assertLeadsThroughProxy(/<([^>]+)>/.exec(link)?.[1] ?? '');
  });

  it('upstream errors: status and OCI body', async () => {
    const unknown = await assertSameAnswer('/v2/pass/app/manifests/nope',
      { headers: { accept: OCI_MANIFEST } });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.toString(), /MANIFEST_UNKNOWN/);
    await assertSameAnswer(`/v2/pass/app/blobs/sha256:${'f'.repeat(64)}`);
    await assertSameAnswer('/v2/pass/nothing/tags/list');
  });
});

/** A URL the upstream handed out must lead back through the proxy, not to the registry. */
function assertLeadsThroughProxy(url: string): void {
  const resolved = new URL(url, env.url);
  assert.equal(resolved.origin, new URL(env.url).origin, `${url} does not lead to the proxy`);
}

async function openUpload(repo: string, query = ''): Promise<Response> {
  const response = await fetch(`${env.url}/v2/${repo}/blobs/uploads/${query}`, { method: 'POST' });
  await response.body?.cancel();
  return response;
}

describe('writes arrive unchanged', () => {
  it('chunked upload with PATCH and Content-Range, every Location through the proxy', async () => {
    const blob = randomLayer(300 * 1024);
    const opened = await openUpload('pass/chunked');
    assert.equal(opened.status, 202);
    let location = opened.headers.get('location') ?? '';
    assertLeadsThroughProxy(location);

    for (const [start, end] of [[0, 100 * 1024], [100 * 1024, 300 * 1024]] as const) {
      const patched = await fetch(new URL(location, env.url), {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream',
          'content-range': `${start}-${end - 1}` },
        body: new Uint8Array(blob.bytes.subarray(start, end)),
      });
      await patched.body?.cancel();
      assert.equal(patched.status, 202);
      assert.equal(patched.headers.get('range'), `0-${end - 1}`);
      location = patched.headers.get('location') ?? '';
      assertLeadsThroughProxy(location);
    }

    const done = new URL(location, env.url);
    done.searchParams.set('digest', blob.digest);
    const closed = await fetch(done, { method: 'PUT' });
    await closed.body?.cancel();
    assert.equal(closed.status, 201);
    assertLeadsThroughProxy(closed.headers.get('location') ?? '');
    const stored = await request(env.registry.url, `/v2/pass/chunked/blobs/${blob.digest}`);
    assert.ok(stored.body.equals(blob.bytes));
  });

  it('monolithic upload through an ordinary session', async () => {
    const blob = randomLayer(10_000);
    await pushBlob(env.url, 'pass/mono', blob);
    const stored = await request(env.registry.url, `/v2/pass/mono/blobs/${blob.digest}`);
    assert.equal(stored.status, 200);
    assert.ok(stored.body.equals(blob.bytes));
  });

  it('cross-repository mount', async () => {
    const layer = image.blobs[2];
    assert.ok(layer !== undefined);
    const mounted = await openUpload('pass/mounted', `?mount=${layer.digest}&from=pass/app`);
    assert.equal(mounted.status, 201);
    assertLeadsThroughProxy(mounted.headers.get('location') ?? '');
    assert.equal(mounted.headers.get('docker-content-digest'), layer.digest);
  });

  it('a failed mount falls back to an upload session as the registry decides', async () => {
    const missing = `sha256:${'e'.repeat(64)}`;
    const response = await openUpload('pass/mounted', `?mount=${missing}&from=pass/app`);
    assert.equal(response.status, 202);
    assertLeadsThroughProxy(response.headers.get('location') ?? '');
  });
});

describe('behind a TLS-terminating load balancer', () => {
  // Regression: http-proxy's xfwd appended its own value, sending "https,http", which registry
  // 2.8 pasted into Location ("https,http://host/..."), breaking every blob upload.
  it('upload URLs carry the forwarded scheme and host, once', async () => {
    const response = await fetch(`${env.url}/v2/pass/lb/blobs/uploads/`, {
      method: 'POST',
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'registry.example.test' },
    });
    await response.body?.cancel();
    assert.equal(response.status, 202);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.origin, 'https://registry.example.test');
    assert.match(location.pathname, /^\/v2\/pass\/lb\/blobs\/uploads\/[^/]+$/);
  });
});

describe('a registry that wants credentials', () => {
  let authEnv: BasicAuthEnv;

  before(async () => {
    authEnv = await startBasicAuthEnv();
  });
  after(async () => {
    await authEnv.stop();
  });

  it('relays 401 with the WWW-Authenticate challenge and the OCI body unchanged', async () => {
    for (const path of ['/v2/', '/v2/some/repo/tags/list']) {
      const direct = await request(authEnv.registry.url, path);
      const proxied = await request(authEnv.url, path);
      assert.equal(proxied.status, 401);
      assert.equal(proxied.headers['www-authenticate'], 'Basic realm="test-realm"');
      assert.deepEqual(proxied.headers, direct.headers);
      assert.ok(proxied.body.equals(direct.body));
    }
  });

  it('lets a client with the right credentials through, and never logs them', async () => {
    const { authorization, password } = authEnv;
    const response = await fetch(`${authEnv.url}/v2/`, { headers: { authorization } });
    await response.body?.cancel();
    assert.equal(response.status, 200);
    const logged = authEnv.logs.raw.join('\n');
    assert.ok(!logged.includes(password) && !logged.includes(authorization.slice(6)));
  });
});
