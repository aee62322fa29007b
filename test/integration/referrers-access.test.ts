// The referrers API answers only callers the registry itself would let pull from the
// repository (design.md invariant 8), here with registry 2.8 in htpasswd (basic auth) mode.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  artifactManifest, descriptorOf, randomImage, type OciImage,
} from '../support/oci-layout.js';
import { referrersTag } from '../../src/oci/referrers-tag.js';
import { startBasicAuthEnv, type BasicAuthEnv } from '../support/proxy-env.js';

let env: BasicAuthEnv;
let authorization: string;

before(async () => {
  env = await startBasicAuthEnv();
  authorization = env.authorization;
});
after(async () => {
  await env.stop();
});

/** Minimal authenticated client: the shared support client speaks anonymously. */
async function send(method: string, path: string, body?: Buffer, contentType?: string) {
  const headers: Record<string, string> = { authorization };
  if (contentType !== undefined) headers['content-type'] = contentType;
  const response = await fetch(`${env.url}${path}`, {
    method, headers, ...(body === undefined ? {} : { body: new Uint8Array(body) }),
  });
  return { response, text: await response.text() };
}

async function push(repo: string, reference: string, content: OciImage): Promise<Response> {
  for (const blob of content.blobs) {
    const opened = await send('POST', `/v2/${repo}/blobs/uploads/`);
    const target = new URL(opened.response.headers.get('location') ?? '', env.url);
    target.searchParams.set('digest', blob.digest);
    const stored = await send('PUT', target.pathname + target.search, blob.bytes,
      'application/octet-stream');
    assert.equal(stored.response.status, 201);
  }
  const manifest = content.manifest;
  return (await send('PUT', `/v2/${repo}/manifests/${reference}`, manifest.bytes,
    manifest.mediaType)).response;
}

describe('referrers API on a registry that wants credentials', () => {
  it('indexes a push made with credentials and lists it to the same caller', async () => {
    const image = randomImage();
    assert.equal((await push('private/app', 'v1', image)).status, 201);
    const subject = descriptorOf(image.manifest);
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });

    const pushed = await push('private/app', sbom.manifest.digest, sbom);
    assert.equal(pushed.status, 201);
    assert.equal(pushed.headers.get('oci-subject'), subject.digest);

    const listing = await send('GET', `/v2/private/app/referrers/${subject.digest}`);
    assert.equal(listing.response.status, 200);
    assert.match(listing.text, new RegExp(sbom.manifest.digest));
  });

  it('refuses an anonymous caller with the registry challenge and lists nothing', async () => {
    const image = randomImage();
    await push('private/hidden', 'v1', image);
    const subject = descriptorOf(image.manifest);
    await push('private/hidden', 'sig', artifactManifest({ subject, artifactType: 'a/sig' }));

    const response = await fetch(`${env.url}/v2/private/hidden/referrers/${subject.digest}`);
    const body = await response.json() as { errors: { code: string }[]; manifests?: unknown };
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Basic realm="test-realm"');
    assert.equal(body.errors[0]?.code, 'UNAUTHORIZED');
    assert.equal(body.manifests, undefined);
  });

  it('refuses wrong credentials too', async () => {
    const wrong = `Basic ${Buffer.from('docker:wrong').toString('base64')}`;
    const digest = `sha256:${'2'.repeat(64)}`;
    const response = await fetch(`${env.url}/v2/private/app/referrers/${digest}`,
      { headers: { authorization: wrong } });
    await response.body?.cancel();
    assert.equal(response.status, 401);
  });
});

describe('the access cache', () => {
  it("asks the registry once for a burst of one caller's queries", async () => {
    const digest = `sha256:${'3'.repeat(64)}`;
    const path = `/v2/private/cached/referrers/${digest}`;
    for (let n = 0; n < 5; n++) assert.equal((await send('GET', path)).response.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const lines = env.logs.requests().filter((line) => line.path === path);
    assert.equal(lines.length, 5);
    assert.equal(lines.filter((line) => line.upstreamStatus !== undefined).length, 1);
  });

  it('never remembers a refusal', async () => {
    const digest = `sha256:${'4'.repeat(64)}`;
    for (let n = 0; n < 3; n++) {
      const response = await fetch(`${env.url}/v2/private/cached/referrers/${digest}`);
      await response.body?.cancel();
      assert.equal(response.status, 401);
    }
  });
});

describe("the proxy's own basic credentials", () => {
  it('write the mirror tag on a registry that wants login', async () => {
    await env.restartProxy(['--upstream-username', 'docker', '--upstream-password',
      env.password]);
    const image = randomImage();
    await push('private/mirrored', 'v1', image);
    const subject = descriptorOf(image.manifest);
    await push('private/mirrored', 'sbom', artifactManifest({ subject, artifactType: 'a/sbom' }));

    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      const tag = await fetch(`${env.registry.url}/v2/private/mirrored/manifests/`
        + referrersTag(subject.digest), { headers: { authorization,
        accept: 'application/vnd.oci.image.index.v1+json' } });
      await tag.body?.cancel();
      status = tag.status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 200);
    assert.ok(!env.logs.raw.join('\n').includes(env.password), 'the password is never logged');
  });
});
