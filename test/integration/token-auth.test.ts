// A registry 2.8 in token mode (JWTs from a test issuer it trusts through rootcertbundle):
// clients use their own tokens through the proxy, nothing is listed to a caller the registry
// would refuse, and the proxy's own background work (the mirror) runs the Bearer token flow
// with its own credentials.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { referrersTag } from '../../src/oci/referrers-tag.js';
import {
  artifactManifest, descriptorOf, randomImage, type Descriptor, type OciImage,
} from '../support/oci-layout.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';
import { startTokenIssuer, type TokenIssuer } from '../support/token-issuer.js';

let issuer: TokenIssuer;
let env: ProxyEnv;

before(async () => {
  issuer = await startTokenIssuer({
    bot: { password: 'bot-secret', actions: { '': ['pull', 'push', 'delete'] } },
    ci: { password: 'ci-secret', actions: { 'team-a/': ['pull', 'push'] } },
    alice: { password: 'alice-secret', actions: { 'team-a/': ['pull'] } },
  });
  env = await startProxyEnv({
    flags: ['--upstream-username', 'bot', '--upstream-password', 'bot-secret'],
    registry: { extraConfig: issuer.registryConfig() },
    server: { mirror: { intervalMs: 200, debounceMs: 50 } },
  });
});
after(async () => {
  await env.stop();
  await issuer.stop();
});

/** fetch through the proxy as `user`, with a token for the given repository actions. */
function as(user: string | undefined, repository: string, actions: string) {
  const token = issuer.token(user, `repository:${repository}:${actions}`);
  return (path: string, init: RequestInit = {}): Promise<Response> => fetch(
    new URL(path, env.url), { ...init, headers: { ...init.headers as Record<string, string>,
      authorization: `Bearer ${token}` } });
}

async function push(client: ReturnType<typeof as>, repo: string, reference: string,
  content: OciImage): Promise<Response> {
  for (const blob of content.blobs) {
    const opened = await client(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    await opened.body?.cancel();
    const target = new URL(opened.headers.get('location') ?? '', env.url);
    target.searchParams.set('digest', blob.digest);
    const stored = await client(target.pathname + target.search, { method: 'PUT',
      body: new Uint8Array(blob.bytes), headers: { 'content-type': 'application/octet-stream' } });
    await stored.body?.cancel();
  }
  const response = await client(`/v2/${repo}/manifests/${reference}`, { method: 'PUT',
    body: new Uint8Array(content.manifest.bytes),
    headers: { 'content-type': content.manifest.mediaType } });
  await response.body?.cancel();
  return response;
}

describe('registry 2.8 in token mode', () => {
  let subject: Descriptor;
  let sbom: OciImage;

  before(async () => {
    const ci = as('ci', 'team-a/app', 'pull,push');
    const image = randomImage();
    assert.equal((await push(ci, 'team-a/app', 'v1', image)).status, 201);
    subject = descriptorOf(image.manifest);
    sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
  });

  it('indexes a push made with a push-scoped token, then answers OCI-Subject', async () => {
    const pushed = await push(as('ci', 'team-a/app', 'pull,push'), 'team-a/app',
      sbom.manifest.digest, sbom);
    assert.equal(pushed.status, 201);
    assert.equal(pushed.headers.get('oci-subject'), subject.digest);
  });

  it('refuses a push with a pull-only token, and indexes nothing', async () => {
    const other = artifactManifest({ subject, artifactType: 'a/sig' });
    const refused = await push(as('alice', 'team-a/app', 'pull,push'), 'team-a/app',
      other.manifest.digest, other);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('oci-subject'), null);
  });

  it('lists referrers to a user who may pull, and only what was accepted', async () => {
    const listing = await as('alice', 'team-a/app', 'pull')(
      `/v2/team-a/app/referrers/${subject.digest}`);
    const body = await listing.json() as { manifests: Descriptor[] };
    assert.equal(listing.status, 200);
    assert.deepEqual(body.manifests.map((m) => m.digest), [sbom.manifest.digest]);
  });

  it('relays the Bearer challenge to callers the registry refuses', async () => {
    const anonymous = await fetch(`${env.url}/v2/team-a/app/referrers/${subject.digest}`);
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '',
      new RegExp(`^Bearer realm="${issuer.realm}",service="test-registry"`));

    const elsewhere = await as('alice', 'team-b/app', 'pull')(
      `/v2/team-b/app/referrers/${subject.digest}`);
    await elsewhere.body?.cancel();
    assert.equal(elsewhere.status, 401, 'alice may pull team-a only');
  });

  it('mirrors with the proxy\'s own credentials through the token flow', async () => {
    const bot = issuer.token('bot', 'repository:team-a/app:pull');
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      const tag = await fetch(`${env.registry.url}/v2/team-a/app/manifests/`
        + referrersTag(subject.digest), { headers: { authorization: `Bearer ${bot}`,
        accept: 'application/vnd.oci.image.index.v1+json' } });
      status = tag.status;
      await tag.body?.cancel();
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200);
  });
});
