// Lifecycle on top of the index, against a real registry 2.8 and Redis: cascading delete, tag
// locks that still allow signatures, and retention (issue 6). Every deletion goes through the
// registry's own API; the tests check the registry itself, the referrers API and the mirror.

import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { retentionLockKey } from '../../src/index-store/keys.js';
import { referrersTag } from '../../src/oci/referrers-tag.js';
import {
  artifactManifest, descriptorOf, randomImage, type Descriptor,
} from '../support/oci-layout.js';
import { makeTempDir, removeTempDir, runCommand } from '../support/process.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';
import {
  getManifest, getReferrers, pushArtifact, pushBlob, pushImage, pushManifest, pushSubjectImage,
} from '../support/registry-client.js';
import { waitForReferrers } from '../support/waiting.js';

const SIGNATURE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const SBOM = 'application/spdx+json';
const VULN = 'application/sarif+json';
const CREATED = 'org.opencontainers.image.created';
const TOKEN = 'admin-token-0123456789abcdef';

const POLICY = {
  tagLocks: [{ name: 'releases', repository: 'locked/**', tag: 'v*' },
    { name: 'keepers', repository: 'ret/**', tag: 'keep-*' }],
  retention: [
    { name: 'one-signature', repository: 'ret/**', artifactType: SIGNATURE, keepNewest: 1 },
    { name: 'low-scores', repository: 'ret/**', artifactType: VULN,
      annotation: { key: 'com.example.score', max: 3 } },
    { name: 'orphans', repository: 'orphan/**', orphanedFor: '1s' },
    { name: 'two-of-each', repository: 'each/**', keepNewest: 2 },
  ],
};

let env: ProxyEnv;
let policyDir: string;
let policyPath: string;

before(async () => {
  policyDir = await makeTempDir('policy');
  policyPath = join(policyDir, 'policy.json');
  await writeFile(policyPath, JSON.stringify(POLICY));
  env = await startProxyEnv({ flags: ['--policy-file', policyPath, '--admin-token', TOKEN],
    server: { mirror: { intervalMs: 200, debounceMs: 20 } } });
});
after(async () => {
  await env.stop();
  await removeTempDir(policyDir);
});

function pushSubject(repo: string, tag = 'v1'): Promise<Descriptor> {
  return pushSubjectImage(env.url, repo, tag, 1);
}

/** Pushes a new referrer of `subject` through the proxy and returns its descriptor. */
async function attach(repo: string, subject: Descriptor, artifactType: string,
  annotations?: Record<string, string>): Promise<Descriptor> {
  const artifact = artifactManifest({ subject, artifactType, annotations });
  const response = await pushArtifact(env.url, repo, artifact);
  assert.equal(response.status, 201, await response.text());
  return descriptorOf(artifact.manifest);
}

async function request(method: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${env.url}${path}`, { method, ...init });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json: json as Json, text };
}

type Json = Record<string, unknown> & { errors?: { code: string; message: string;
  detail?: Record<string, unknown> }[] };

function admin(method: string, path: string, body?: unknown, token = TOKEN) {
  return request(method, `/_referrers-proxy/admin/${path}`, {
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Status of the manifest in the registry itself, past the proxy. */
async function inRegistry(repo: string, digest: string): Promise<number> {
  return (await getManifest(env.registry.url, repo, digest)).status;
}

function digestsOf(steps: unknown): string[] {
  return (steps as { digest: string }[]).map((step) => step.digest);
}

describe('cascading delete', () => {
  it('deletes a three-level chain with one request, referrers first, nothing else', async () => {
    const repo = 'cascade/app';
    const image = await pushSubject(repo);
    const sbom = await attach(repo, image, SBOM);
    const sbomSignature = await attach(repo, sbom, SIGNATURE);
    const signature = await attach(repo, image, SIGNATURE);
    const bystander = await pushSubject(repo, 'v2');
    const bystanderSbom = await attach(repo, bystander, SBOM);

    const dry = await request('DELETE', `/v2/${repo}/manifests/${image.digest}?cascade=true`
      + '&dry-run=true');
    assert.equal(dry.status, 200);
    const planned = digestsOf(dry.json.delete);
    assert.equal(planned.length, 4);
    assert.equal(planned.at(-1), image.digest);
    assert.ok(planned.indexOf(sbomSignature.digest) < planned.indexOf(sbom.digest));
    assert.equal(await inRegistry(repo, image.digest), 200, 'the dry run deleted nothing');

    const done = await request('DELETE', `/v2/${repo}/manifests/${image.digest}?cascade=true`);
    assert.equal(done.status, 202, done.text);
    assert.deepEqual(digestsOf(done.json.deleted), planned);
    assert.deepEqual(done.json.remaining, []);

    for (const gone of [image, sbom, sbomSignature, signature]) {
      assert.equal(await inRegistry(repo, gone.digest), 404, gone.digest);
    }
    assert.equal(await inRegistry(repo, bystander.digest), 200);
    assert.equal(await inRegistry(repo, bystanderSbom.digest), 200);
    await waitForReferrers(env.url, repo, bystander.digest, [bystanderSbom.digest]);
    await waitForReferrers(env.url, repo, image.digest, []);
    await waitForReferrers(env.url, repo, sbom.digest, []);
    await waitForMirrorGone(repo, sbom.digest);
  });

  it('counts a referrer already deleted straight at the registry as deleted', async () => {
    const repo = 'cascade/gone';
    const image = await pushSubject(repo);
    const signature = await attach(repo, image, SIGNATURE);
    const direct = await fetch(`${env.registry.url}/v2/${repo}/manifests/${signature.digest}`,
      { method: 'DELETE' });
    assert.equal(direct.status, 202);

    const done = await request('DELETE', `/v2/${repo}/manifests/${image.digest}?cascade=true`);
    assert.equal(done.status, 202, done.text);
    assert.deepEqual(digestsOf(done.json.deleted), [signature.digest, image.digest]);
    await waitForReferrers(env.url, repo, image.digest, []);
  });

  it('deletes only the manifest without the extension (CASCADE_DELETE=on-request)', async () => {
    const repo = 'cascade/plain';
    const image = await pushSubject(repo);
    const sbom = await attach(repo, image, SBOM);
    const response = await request('DELETE', `/v2/${repo}/manifests/${image.digest}`);
    assert.equal(response.status, 202);
    assert.equal(await inRegistry(repo, sbom.digest), 200);
  });

  it('refuses bad extension values and tags with a 400 OCI error', async () => {
    const image = await pushSubject('cascade/bad');
    const bad = await request('DELETE', `/v2/cascade/bad/manifests/${image.digest}?cascade=1`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.errors?.[0]?.code, 'UNSUPPORTED');
    const byTag = await request('DELETE', '/v2/cascade/bad/manifests/v1?cascade=true');
    assert.equal(byTag.status, 400);
    // Regression: a typo beside the extension must not turn a dry run into a real delete.
    const typo = await request('DELETE',
      `/v2/cascade/bad/manifests/${image.digest}?cascade=true&dryrun=true`);
    assert.equal(typo.status, 400);
    assert.equal(typo.json.errors?.[0]?.detail?.parameter, 'dryrun');
    assert.equal(await inRegistry('cascade/bad', image.digest), 200);
  });

  // Regression: a mistyped digest answered 202 "deleted" where a plain DELETE answers 404.
  it('answers 404 for a digest the registry lacks and nothing refers to', async () => {
    const missing = `sha256:${'1'.repeat(64)}`;
    const response = await request('DELETE', `/v2/cascade/bad/manifests/${missing}?cascade=true`);
    assert.equal(response.status, 404);
    assert.equal(response.json.errors?.[0]?.code, 'MANIFEST_UNKNOWN');
    const dry = await request('DELETE',
      `/v2/cascade/bad/manifests/${missing}?cascade=true&dry-run=true`);
    assert.equal(dry.status, 404);
  });
});

describe('a cascade the registry refuses part-way', () => {
  let refusing: ProxyEnv;
  before(async () => {
    refusing = await startProxyEnv({ registry: { deleteEnabled: false },
      server: { mirror: { intervalMs: 200, debounceMs: 20 } } });
  });
  after(async () => {
    await refusing.stop();
  });

  it('says what is left, and a retry after the registry allows deletes finishes', async () => {
    const repo = 'partial/app';
    const image = randomImage({ layerCount: 1 });
    await pushImage(refusing.url, repo, 'v1', image);
    const subject = descriptorOf(image.manifest);
    const sbom = artifactManifest({ subject, artifactType: SBOM });
    for (const blob of sbom.blobs) await pushBlob(refusing.url, repo, blob);
    await pushManifest(refusing.url, repo, sbom.manifest.digest, sbom.manifest);

    const path = `${refusing.url}/v2/${repo}/manifests/${subject.digest}?cascade=true`;
    const refused = await fetch(path, { method: 'DELETE' });
    const body = await refused.json() as Json;
    assert.equal(refused.status, 405);
    assert.equal(body.errors?.[0]?.code, 'UNSUPPORTED');
    assert.deepEqual(digestsOf(body.errors?.[0]?.detail?.remaining),
      [sbom.manifest.digest, subject.digest]);
    assert.deepEqual(body.errors?.[0]?.detail?.deleted, []);
    const listing = await getReferrers(refusing.url, repo, subject.digest);
    assert.deepEqual(digestsOf(listing.body?.manifests), [sbom.manifest.digest]);

    const config = await readFile(refusing.registry.configPath, 'utf8');
    await writeFile(refusing.registry.configPath,
      config.replace('enabled: false', 'enabled: true'));
    await refusing.registry.restart();
    const retried = await fetch(path, { method: 'DELETE' });
    const report = await retried.json() as Json;
    assert.equal(retried.status, 202);
    assert.deepEqual(digestsOf(report.deleted), [sbom.manifest.digest, subject.digest]);
    await waitForReferrers(refusing.url, repo, subject.digest, []);
  });
});

describe('tag locks', () => {
  it('refuse a move and a delete of a locked tag, while a new signature attaches', async () => {
    const repo = 'locked/app';
    const release = randomImage({ layerCount: 1 });
    await pushImage(env.url, repo, 'v1.0', release);
    const released = descriptorOf(release.manifest);

    const other = randomImage({ layerCount: 1 });
    for (const blob of other.blobs) await pushBlob(env.url, repo, blob);
    const moved = await pushManifest(env.url, repo, 'v1.0', other.manifest);
    assert.equal(moved.status, 403);
    const refusal = await moved.json() as Json;
    assert.equal(refusal.errors?.[0]?.code, 'DENIED');
    assert.match(refusal.errors?.[0]?.message ?? '', /rule "releases"/);
    assert.equal((await getManifest(env.registry.url, repo, 'v1.0')).headers
      .get('docker-content-digest'), released.digest, 'the tag did not move');

    const same = await pushManifest(env.url, repo, 'v1.0', release.manifest);
    assert.equal(same.status, 201, 'identical bytes to a locked tag are accepted');

    const deleted = await request('DELETE', `/v2/${repo}/manifests/${released.digest}`);
    assert.equal(deleted.status, 403);
    assert.equal(deleted.json.errors?.[0]?.code, 'DENIED');
    assert.equal(deleted.json.errors?.[0]?.detail?.rule, 'releases');
    const byTag = await request('DELETE', `/v2/${repo}/manifests/v1.0`);
    assert.equal(byTag.status, 403);
    const cascade = await request('DELETE',
      `/v2/${repo}/manifests/${released.digest}?cascade=true`);
    assert.equal(cascade.status, 403);
    assert.equal(await inRegistry(repo, released.digest), 200);

    const signature = artifactManifest({ subject: released, artifactType: SIGNATURE });
    for (const blob of signature.blobs) await pushBlob(env.url, repo, blob);
    const signed = await pushManifest(env.url, repo, signature.manifest.digest,
      signature.manifest);
    assert.equal(signed.status, 201);
    assert.equal(signed.headers.get('oci-subject'), released.digest);
    await waitForReferrers(env.url, repo, released.digest, [signature.manifest.digest]);

    // A tag no rule matches, in the same repository, still moves (pushImage throws unless 201).
    await pushImage(env.url, repo, 'latest', other);
    await pushImage(env.url, repo, 'latest', randomImage({ layerCount: 1 }));
  });

  it('set through the admin endpoint bind every proxy sharing the Redis', async () => {
    const repo = 'adminlock/app';
    const first = randomImage({ layerCount: 1 });
    await pushImage(env.url, repo, 'stable', first);

    assert.equal((await admin('PUT', 'tag-locks/stable', { repository: 'adminlock/*',
      tag: 'stable' }, 'wrong-token-0123456789')).status, 401);
    const created = await admin('PUT', 'tag-locks/stable', { repository: 'adminlock/*',
      tag: 'stable' });
    assert.equal(created.status, 201, created.text);

    // Regression: rules set through the endpoint bind processes started without ADMIN_TOKEN.
    const another = await env.startAnotherProxy(['--policy-file', policyPath]);
    const second = randomImage({ layerCount: 1 });
    for (const blob of second.blobs) await pushBlob(another.url, repo, blob);
    const moved = await pushManifest(another.url, repo, 'stable', second.manifest);
    assert.equal(moved.status, 403);

    const listed = await admin('GET', 'tag-locks');
    const names = (listed.json.tagLocks as { name: string; source: string }[])
      .map((rule) => `${rule.name}:${rule.source}`);
    assert.deepEqual(names, ['releases:file', 'keepers:file', 'stable:admin']);

    assert.equal((await admin('DELETE', 'tag-locks/releases')).status, 400,
      'file rules are changed in the file');
    assert.equal((await admin('DELETE', 'tag-locks/stable')).status, 200);
    const unknown = await admin('DELETE', 'tag-locks/stable');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.errors?.[0]?.detail?.proxyCode, 'RP_ERR_TAG_LOCK_UNKNOWN');
    const free = await pushManifest(another.url, repo, 'stable', second.manifest);
    assert.equal(free.status, 201);
  });

  it('answer malformed admin requests with a 400 naming the field', async () => {
    const bad = await admin('PUT', 'tag-locks/x', { repository: 'a b', tag: '*' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.errors?.[0]?.detail?.field, 'rule.repository');
    const notJson = await request('PUT', '/_referrers-proxy/admin/tag-locks/x', {
      headers: { authorization: `Bearer ${TOKEN}` }, body: '{' });
    assert.equal(notJson.status, 400);
    assert.equal((await admin('GET', 'nothing')).status, 404);
    assert.equal((await admin('POST', 'tag-locks')).status, 405);
  });
});

describe('retention', () => {
  it('keeps exactly the newest N of each type, and the dry run matches the real run', async () => {
    const repo = 'ret/app';
    const image = await pushSubject(repo);
    const at = (day: number) => ({ [CREATED]: `2026-11-0${day}T00:00:00Z` });
    const signatures = [];
    for (const day of [1, 2, 3, 4]) signatures.push(await attach(repo, image, SIGNATURE, at(day)));
    const sboms = [await attach(repo, image, SBOM, at(1)), await attach(repo, image, SBOM, at(2))];
    const lowScan = await attach(repo, image, VULN, { 'com.example.score': '2' });
    const highScan = await attach(repo, image, VULN, { 'com.example.score': '8' });
    const image2 = await pushSubject(repo, 'v2');
    const lone = await attach(repo, image2, SIGNATURE, at(1));

    // The oldest signature carries a locked tag: retention must leave it alone.
    const keeper = signatures[0];
    assert.ok(keeper !== undefined);
    const tagged = await fetch(`${env.registry.url}/v2/${repo}/manifests/${keeper.digest}`,
      { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    await fetch(`${env.url}/v2/${repo}/manifests/keep-oldest`, { method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: new Uint8Array(await tagged.arrayBuffer()) });

    // Regression: anything but dry-run=true|false, once, ran a real retention.
    for (const bad of ['dry-run=1', 'dry-run', 'dryrun=true', `repository=${repo}&repository=x`]) {
      const refused = await admin('POST', `retention?${bad}`);
      assert.equal(refused.status, 400, bad);
    }
    const dry = await admin('POST', `retention?dry-run=true&repository=${repo}`);
    assert.equal(dry.status, 200, dry.text);
    const expected = [signatures[1], signatures[2], lowScan].map((d) => d?.digest ?? '').sort();
    assert.deepEqual(digestsOf(dry.json.deleted).sort(), expected);
    assert.deepEqual(digestsOf(dry.json.skipped), [keeper.digest]);
    assert.equal(await inRegistry(repo, lowScan.digest), 200, 'the dry run deleted nothing');

    const real = await admin('POST', `retention?repository=${repo}`);
    assert.equal(real.status, 200, real.text);
    const report = (value: unknown) => (value as { digest: string; policy: string;
      reason: string }[]).map((entry) => `${entry.digest} ${entry.policy} ${entry.reason}`);
    assert.deepEqual(report(real.json.deleted), report(dry.json.deleted));
    assert.deepEqual(real.json.failed, []);
    const logged = env.logs.lines.filter((line) => line.msg === 'retention deleted')
      .map((line) => (line.retention as { digest: string }).digest);
    assert.deepEqual(logged.sort(), expected, 'a run asked through the endpoint is logged too');

    const kept = [keeper, signatures[3], ...sboms, highScan].map((d) => d?.digest ?? '');
    for (const digest of expected) assert.equal(await inRegistry(repo, digest), 404);
    for (const digest of kept) assert.equal(await inRegistry(repo, digest), 200);
    await waitForReferrers(env.url, repo, image.digest, kept);
    await waitForReferrers(env.url, repo, image2.digest, [lone.digest]);
    const second = await admin('POST', `retention?dry-run=true&repository=${repo}`);
    assert.deepEqual(second.json.deleted, [], 'a second run finds nothing more');
  });

  it('keeps the newest N of every artifactType when a policy names no type', async () => {
    const repo = 'each/app';
    const image = await pushSubject(repo);
    const pushed = new Map<string, Descriptor[]>();
    for (const type of [SIGNATURE, SBOM, VULN]) {
      const count = type === VULN ? 1 : 3;
      const list = [];
      for (let day = 1; day <= count; day++) {
        list.push(await attach(repo, image, type, { [CREATED]: `2026-08-0${day}T00:00:00Z` }));
      }
      pushed.set(type, list);
    }

    const run = await admin('POST', `retention?repository=${repo}`);
    assert.equal(run.status, 200, run.text);
    const oldest = [SIGNATURE, SBOM].map((type) => pushed.get(type)?.[0]?.digest ?? '');
    assert.deepEqual(digestsOf(run.json.deleted).sort(), oldest.sort());
    const kept = [...pushed.values()].flat().map((d) => d.digest)
      .filter((digest) => !oldest.includes(digest));
    await waitForReferrers(env.url, repo, image.digest, kept);
  });

  it('removes referrers whose subject stayed missing past the grace period', async () => {
    const repo = 'orphan/app';
    const missing: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${'e'.repeat(64)}`, size: 100 };
    const orphan = await attach(repo, missing, SBOM);

    const first = await admin('POST', `retention?repository=${repo}`);
    assert.deepEqual(first.json.deleted, [], 'first seen missing: the grace period starts');
    await sleep(1100);
    const second = await admin('POST', `retention?repository=${repo}`);
    assert.deepEqual(digestsOf(second.json.deleted), [orphan.digest]);
    assert.match(JSON.stringify(second.json.deleted), /subject missing from the registry/);
    assert.equal(await inRegistry(repo, orphan.digest), 404);

    // Regression: the record outlived the orphans it timed, so a new orphan of the same
    // subject expired at once instead of getting a grace period of its own.
    const later = await attach(repo, missing, SIGNATURE);
    const third = await admin('POST', `retention?repository=${repo}`);
    assert.deepEqual(third.json.deleted, [], 'a new orphan starts a grace period of its own');
    assert.equal(await inRegistry(repo, later.digest), 200);
  });

  it('refuses a second real run while one holds the turn; dry runs still answer', async () => {
    const redis = new Redis(env.redis.url);
    try {
      await redis.set(retentionLockKey(), 'another-process', 'PX', 60_000);
      const busy = await admin('POST', 'retention?repository=ret/app');
      assert.equal(busy.status, 503);
      assert.equal(busy.json.errors?.[0]?.code, 'UNAVAILABLE');
      assert.equal(busy.headers.get('retry-after'), '60');
      assert.equal((await admin('POST', 'retention?dry-run=true&repository=ret/app')).status,
        200);
    } finally {
      await redis.del(retentionLockKey());
      redis.disconnect();
    }
  });

  it('runs as a command with a dry run that prints the report', async () => {
    const repo = 'ret/cli';
    const image = await pushSubject(repo);
    const oldest = await attach(repo, image, SIGNATURE, { [CREATED]: '2026-09-30T00:00:00Z' });
    const old = await attach(repo, image, SIGNATURE, { [CREATED]: '2026-10-01T00:00:00Z' });
    const current = await attach(repo, image, SIGNATURE, { [CREATED]: '2026-10-02T00:00:00Z' });
    assert.equal((await admin('PUT', 'tag-locks/cli-pins', { repository: repo,
      tag: 'pinned-*' })).status, 201);
    const bytes = await getManifest(env.registry.url, repo, oldest.digest);
    await fetch(`${env.url}/v2/${repo}/manifests/pinned-oldest`, { method: 'PUT',
      headers: { 'content-type': oldest.mediaType },
      body: new Uint8Array(await bytes.arrayBuffer()) });

    // Regression: the command (no ADMIN_TOKEN) ignored locks set through the endpoint.
    const result = await runCommand(process.execPath, ['--import', 'tsx', 'src/main.ts',
      'retention', '--dry-run', '--repository', repo, '--upstream', env.registry.url,
      '--redis', env.redis.url, '--policy-file', policyPath],
    { env: { PATH: process.env.PATH ?? '' }, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    // Regression: log lines on stdout broke `… | jq`; stdout is the report alone.
    const printed = JSON.parse(result.stdout.toString('utf8')) as Json;
    assert.equal(printed.dryRun, true);
    assert.deepEqual(digestsOf(printed.deleted), [old.digest]);
    assert.deepEqual(digestsOf(printed.skipped), [oldest.digest]);
    assert.match(result.stderr, /retention run finished/);
    for (const kept of [oldest, old, current]) {
      assert.equal(await inRegistry(repo, kept.digest), 200);
    }
    assert.equal((await admin('DELETE', 'tag-locks/cli-pins')).status, 200);
  });
});

describe('scheduled retention', () => {
  let scheduled: ProxyEnv;
  before(async () => {
    scheduled = await startProxyEnv({ flags: ['--policy-file', policyPath,
      '--retention-interval', '1m'], server: { retentionIntervalMs: 300,
      mirror: { intervalMs: 200, debounceMs: 20 } } });
  });
  after(async () => {
    await scheduled.stop();
  });

  it('expires on its own and logs each deletion with its policy and reason', async () => {
    const repo = 'ret/scheduled';
    const image = randomImage({ layerCount: 1 });
    await pushImage(scheduled.url, repo, 'v1', image);
    const subject = descriptorOf(image.manifest);
    const [older, newer] = ['2026-09-01T00:00:00Z', '2026-09-02T00:00:00Z'].map((created) =>
      artifactManifest({ subject, artifactType: SIGNATURE, annotations: { [CREATED]: created } }));
    assert.ok(older !== undefined && newer !== undefined);
    for (const artifact of [older, newer]) {
      assert.equal((await pushArtifact(scheduled.url, repo, artifact)).status, 201);
    }

    await waitForReferrers(scheduled.url, repo, subject.digest, [newer.manifest.digest]);
    const logged = scheduled.logs.lines.find((line) => line.msg === 'retention deleted');
    const entry = logged?.retention as { digest?: string; policy?: string } | undefined;
    assert.equal(entry?.digest, older.manifest.digest);
    assert.equal(entry?.policy, 'one-signature');
  });
});

/** The mirror drops the referrers tag of a subject left without referrers. */
async function waitForMirrorGone(repo: string, subject: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const tag = await getManifest(env.registry.url, repo, referrersTag(subject));
    if (tag.status === 404) return;
    await sleep(100);
  }
  assert.fail(`the referrers tag of ${subject} is still there`);
}
