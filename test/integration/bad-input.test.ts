// Bad input found by trying to break the proxy: each case gets a clear 4xx with an OCI error
// body, loses nothing, and the proxy keeps serving (design.md invariant 9).

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { artifactManifest, descriptorOf, randomImage } from '../support/oci-layout.js';
import { getManifest, getReferrers, pushBlob, pushImage } from '../support/registry-client.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';

let env: ProxyEnv;
let port: number;
before(async () => {
  env = await startProxyEnv({ flags: ['--manifest-body-timeout', '1'] });
  port = Number(new URL(env.url).port);
});
after(async () => {
  await env.stop();
});

/** Sends raw bytes on a fresh connection; resolves with what came back before it closed. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer')));
    socket.write(request);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
}

function ociCodeOf(response: string): string | undefined {
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { errors: { code: string }[] }).errors[0]?.code;
}

describe('paths the registry would route differently', () => {
  // Regression: registry 2.8 decodes escapes before routing, so PUT /v2/r/%6danifests/<d>
  // stored a referrer the proxy never saw, and a DELETE that way left a stale listing.
  it('refuses percent-encoded /v2/ paths with 400 before they reach the registry', async () => {
    const image = randomImage();
    await pushImage(env.url, 'bad/escape', 'v1', image);
    const sbom = artifactManifest({ subject: descriptorOf(image.manifest),
      artifactType: 'a/sbom' });
    for (const blob of sbom.blobs) await pushBlob(env.url, 'bad/escape', blob);

    const response = await fetch(`${env.url}/v2/bad/escape/%6danifests/${sbom.manifest.digest}`, {
      method: 'PUT', headers: { 'content-type': sbom.manifest.mediaType },
      body: new Uint8Array(sbom.manifest.bytes),
    });
    const body = await response.json() as { errors: { code: string }[] };
    assert.equal(response.status, 400);
    assert.equal(body.errors[0]?.code, 'NAME_INVALID');
    assert.equal((await getManifest(env.registry.url, 'bad/escape', sbom.manifest.digest))
      .status, 404);
  });

  it('answers a referrers path without a digest, or with a trailing slash, with 400', async () => {
    const trailing = `/v2/bad/app/referrers/sha256:${'a'.repeat(64)}/`;
    for (const path of ['/v2/bad/app/referrers/', trailing]) {
      const response = await fetch(`${env.url}${path}`);
      const body = await response.json() as { errors: { code: string }[] };
      assert.equal(response.status, 400, path);
      assert.equal(body.errors[0]?.code, 'DIGEST_INVALID');
    }
  });

  it('forwards an absolute-form request line in origin form', async () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const response = await raw(`GET http://user:pw@127.0.0.1:${port}/v2/bad/app/referrers/`
      + `${digest} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(response), 200);
    assert.ok(!env.logs.raw.join('\n').includes('user:pw'));
  });
});

describe('unparsable request targets', () => {
  // Regression: url.parse threw on a bracket left open in the request listener, which ended
  // the process, after printing the target, user info included, in a deprecation warning.
  const get = (target: string): Promise<string> => raw(`GET ${target} HTTP/1.1\r\n`
    + `Host: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);

  it('reads an absolute-form target without parsing its host; refuses other forms', async () => {
    for (const target of ['http://u:p@[::1/healthz', 'http://[/healthz']) {
      assert.equal(statusOf(await get(target)), 200, target);
    }
    for (const target of ['*', '127.0.0.1:5000', 'v2/']) {
      const response = await get(target);
      assert.equal(statusOf(response), 400, target);
      assert.equal(ociCodeOf(response), 'UNSUPPORTED');
    }
    assert.equal((await fetch(`${env.url}/healthz`)).status, 200);
    assert.ok(!env.logs.raw.join('\n').includes('u:p'));
  });
});

describe('malformed headers', () => {
  // Regression: new URL() on a forwarded host like "[" threw, and the proxy answered 500.
  it('ignores unusable Host and X-Forwarded-* values instead of failing', async () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    for (const header of ['X-Forwarded-Host: [', 'X-Forwarded-Proto: a b', 'Host: [::1']) {
      const host = header.startsWith('Host:') ? '' : `Host: 127.0.0.1:${port}\r\n`;
      const response = await raw(`GET /v2/bad/app/referrers/${digest} HTTP/1.1\r\n${host}`
        + `${header}\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(response), 200, header);
    }
  });

  it('answers requests the HTTP parser refuses with an OCI error body', async () => {
    const conflicting = await raw('PUT /v2/bad/app/manifests/v1 HTTP/1.1\r\nHost: x\r\n'
      + 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.equal(statusOf(conflicting), 400);
    assert.equal(ociCodeOf(conflicting), 'UNSUPPORTED');

    const oversized = await raw(`GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}`
      + '\r\n\r\n');
    assert.equal(statusOf(oversized), 431);
    assert.equal(ociCodeOf(oversized), 'SIZE_INVALID');
  });

  // Regression: Node answered these itself, with no OCI body (CONNECT: none at all).
  it('answers CONNECT and unmet Expect headers with an OCI error body', async () => {
    const tunnel = await raw(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(statusOf(tunnel), 405);
    assert.equal(ociCodeOf(tunnel), 'UNSUPPORTED');

    const expect = await raw('GET /v2/ HTTP/1.1\r\nHost: x\r\nExpect: 999-nope\r\n'
      + 'Connection: close\r\n\r\n');
    assert.equal(statusOf(expect), 417);
    assert.equal(ociCodeOf(expect), 'UNSUPPORTED');
    assert.equal((await fetch(`${env.url}/healthz`)).status, 200);
  });
});

describe('manifest bodies', () => {
  // Regression: a body shorter than its Content-Length held the request open forever.
  it('answers 408 when the body does not arrive in time', async () => {
    const response = await raw('PUT /v2/bad/app/manifests/v1 HTTP/1.1\r\nHost: x\r\n'
      + 'Content-Type: application/vnd.oci.image.manifest.v1+json\r\n'
      + 'Content-Length: 100\r\n\r\n{}');
    assert.equal(statusOf(response), 408);
    assert.equal(ociCodeOf(response), 'MANIFEST_INVALID');
  });

  // Regression: registry 2.8 answers 500 to an OCI manifest without schemaVersion 2.
  it('refuses an OCI manifest without schemaVersion 2 with 400', async () => {
    const response = await fetch(`${env.url}/v2/bad/app/manifests/v1`, {
      method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: '{}',
    });
    const body = await response.json() as { errors: { code: string }[] };
    assert.equal(response.status, 400);
    assert.equal(body.errors[0]?.code, 'MANIFEST_INVALID');
  });
});

describe('referrers of digests the registry does not know', () => {
  // Regression: the access check asked the registry about the subject digest itself, and
  // registry 2.8 answers 500 for unknown algorithms, so valid queries got 502.
  it('answer 200 with an empty index for every digest the grammar allows', async () => {
    for (const digest of ['foo:bar', 'a:b', `blake3:${'d'.repeat(64)}`, 'sha256+b64u:abc_-=']) {
      const listing = await getReferrers(env.url, 'bad/app', digest);
      assert.equal(listing.status, 200, digest);
      assert.deepEqual(listing.body?.manifests, []);
    }
  });
});

describe('the hostile-input catalogue', () => {
  const digest = `sha256:${'e'.repeat(64)}`;
  const oci = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' };
  const nested = `{"schemaVersion":2,"subject":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
  const cases: { name: string; path: string; init?: RequestInit; status: number; code: string }[]
    = [
      { name: 'name outside the grammar', path: `/v2/Bad_Name/referrers/${digest}`,
        status: 400, code: 'NAME_INVALID' },
      { name: 'path traversal in a name', path: '/v2/a/../../etc/manifests/v1',
        init: { method: 'PUT', headers: oci, body: '{}' }, status: 400, code: 'NAME_INVALID' },
      { name: 'malformed digest algorithm', path: '/v2/a/referrers/SHA256:abc',
        status: 400, code: 'DIGEST_INVALID' },
      { name: 'registered algorithm, wrong encoding', path: '/v2/a/referrers/sha512:abc',
        status: 400, code: 'DIGEST_INVALID' },
      { name: 'manifest that is not JSON', path: '/v2/a/manifests/v1',
        init: { method: 'PUT', headers: oci, body: 'not json' }, status: 400,
        code: 'MANIFEST_INVALID' },
      { name: 'deeply nested JSON', path: '/v2/a/manifests/v1',
        init: { method: 'PUT', headers: oci, body: nested }, status: 400,
        code: 'MANIFEST_INVALID' },
      { name: 'reference that is neither tag nor digest', path: '/v2/a/manifests/-bad-',
        init: { method: 'PUT', headers: oci, body: '{}' }, status: 400,
        code: 'MANIFEST_INVALID' },
      { name: 'oversized query string', path: `/v2/a/referrers/${digest}?q=${'x'.repeat(20_000)}`,
        status: 431, code: 'SIZE_INVALID' },
    ];

  for (const { name, path, init, status, code } of cases) {
    it(`${name}: ${status} ${code}`, async () => {
      const response = await raw(`${init?.method ?? 'GET'} ${path} HTTP/1.1\r\nHost: x\r\n`
        + Object.entries(init?.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('')
        + (init?.body === undefined ? '' : `Content-Length: ${Buffer.byteLength(String(
          init.body))}\r\n`)
        + `Connection: close\r\n\r\n${init?.body === undefined ? '' : String(init.body)}`);
      assert.equal(statusOf(response), status, response.slice(0, 300));
      assert.equal(ociCodeOf(response), code);
    });
  }
});

describe('after all of the above', () => {
  it('the proxy still serves', async () => {
    assert.equal((await fetch(`${env.url}/readyz`)).status, 200);
  });
});
