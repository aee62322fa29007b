// HTTPS both ways: the proxy serves TLS with a given certificate and key, and reaches a
// registry 2.8 that serves TLS under a private CA it is told to trust.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch, type RequestInit } from 'undici';
import {
  artifactManifest, descriptorOf, randomImage, type OciImage,
} from '../support/oci-layout.js';
import { makeTempDir, removeTempDir, runCommand } from '../support/process.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';

let dir: string;
let env: ProxyEnv;
let trusting: Agent;

before(async () => {
  dir = await makeTempDir('tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const made = await runCommand('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { timeoutMs: 30_000 });
  assert.equal(made.code, 0, made.stderr.toString());
  const ca = await readFile(certPath);

  env = await startProxyEnv({
    registry: { tls: { certPath, keyPath, ca } },
    flags: ['--upstream-ca', certPath, '--tls-cert', certPath, '--tls-key', keyPath],
  });
  trusting = new Agent({ connect: { ca } });
});
after(async () => {
  await env.stop();
  await trusting.close();
  await removeTempDir(dir);
});

function send(path: string, init: RequestInit = {}) {
  return fetch(new URL(path, env.url), { ...init, dispatcher: trusting });
}

async function push(repo: string, reference: string, content: OciImage) {
  for (const blob of content.blobs) {
    const opened = await send(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    await opened.body?.cancel();
    const location = new URL(opened.headers.get('location') ?? '');
    assert.equal(location.protocol, 'https:', 'upload URLs lead back through HTTPS');
    location.searchParams.set('digest', blob.digest);
    const stored = await send(location.toString(), { method: 'PUT', body: blob.bytes });
    await stored.body?.cancel();
    assert.equal(stored.status, 201);
  }
  const response = await send(`/v2/${repo}/manifests/${reference}`, { method: 'PUT',
    body: content.manifest.bytes, headers: { 'content-type': content.manifest.mediaType } });
  await response.body?.cancel();
  return response;
}

describe('HTTPS', () => {
  it('serves the referrers API over TLS in front of a TLS registry', async () => {
    assert.match(env.url, /^https:\/\//);
    const image = randomImage();
    assert.equal((await push('tls/app', 'v1', image)).status, 201);
    const subject = descriptorOf(image.manifest);
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
    const pushed = await push('tls/app', sbom.manifest.digest, sbom);
    assert.equal(pushed.headers.get('oci-subject'), subject.digest);

    const listing = await send(`/v2/tls/app/referrers/${subject.digest}`);
    const body = await listing.json() as { manifests: { digest: string }[] };
    assert.deepEqual(body.manifests.map((m) => m.digest), [sbom.manifest.digest]);
    assert.equal((await send('/readyz')).status, 200);
  });

  it('refuses to start with a key but no certificate, naming the setting', async () => {
    const result = await runCommand(process.execPath, ['--import', 'tsx', 'src/main.ts',
      '--upstream', env.registry.url, '--tls-key', join(dir, 'key.pem')],
    { env: { PATH: process.env.PATH ?? '' }, timeoutMs: 20_000 });
    assert.equal(result.code, 2);
    assert.match(result.stderr.toString(), /--tls-cert\/TLS_CERT: is required with a key/);
  });
});
