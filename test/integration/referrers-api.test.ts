// The referrers API and subject indexing end to end: a real registry 2.8 behind the proxy, a
// real Redis for the index (distribution-spec v1.1.1 "Listing Referrers", "Pushing Manifests
// with Subject"; design.md invariants 1-5).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  artifactManifest,
  descriptorOf,
  imageIndex,
  randomImage,
  type Descriptor,
  type OciImage,
} from '../support/oci-layout.js';
import {
  deleteManifest,
  getManifest,
  getReferrers,
  pushImage,
  pushManifest,
  pushArtifact,
  pushSubjectImage,
} from '../support/registry-client.js';
import { startProxyEnv, type ProxyEnv } from '../support/proxy-env.js';
import { waitForPin } from '../support/waiting.js';

const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
const SIGNATURE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const SBOM = 'application/spdx+json';

let env: ProxyEnv;
before(async () => {
  env = await startProxyEnv();
});
after(async () => {
  await env.stop();
});

/** Pushes a fresh image through the proxy and returns its descriptor: a subject. */
function pushSubject(repo: string, tag = 'v1'): Promise<Descriptor> {
  return pushSubjectImage(env.url, repo, tag);
}

/** Pushes a referrer by digest (or reference) through the proxy; returns the response. */
function pushReferrer(repo: string, artifact: OciImage, reference?: string): Promise<Response> {
  return pushArtifact(env.url, repo, artifact, reference);
}

function digests(manifests: Descriptor[] | undefined): string[] {
  return (manifests ?? []).map((entry) => entry.digest).sort();
}

describe('pushing a manifest with a subject', () => {
  it('answers OCI-Subject and lists the referrer with the spec descriptor', async () => {
    const subject = await pushSubject('app/one');
    const annotations = { 'org.opencontainers.image.created': '2026-12-01T10:00:00Z' };
    const signature = artifactManifest({ subject, artifactType: SIGNATURE, annotations });

    const pushed = await pushReferrer('app/one', signature);
    assert.equal(pushed.status, 201);
    assert.equal(pushed.headers.get('oci-subject'), subject.digest);

    const listing = await getReferrers(env.url, 'app/one', subject.digest);
    assert.equal(listing.status, 200);
    assert.equal(listing.headers.get('content-type'), INDEX_TYPE);
    assert.deepEqual(listing.body, {
      schemaVersion: 2,
      mediaType: INDEX_TYPE,
      manifests: [{
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: signature.manifest.digest,
        size: signature.manifest.size,
        artifactType: SIGNATURE,
        annotations,
      }],
    });
  });

  it('derives artifactType from config.mediaType when the manifest has none', async () => {
    const subject = await pushSubject('app/legacy');
    const old = artifactManifest({ subject, artifactType: 'application/vnd.example.legacy',
      emptyConfig: false });
    assert.equal((await pushReferrer('app/legacy', old)).status, 201);

    const listing = await getReferrers(env.url, 'app/legacy', subject.digest);
    assert.equal(listing.body?.manifests?.[0]?.artifactType, 'application/vnd.example.legacy');
  });

  it('lists an image index with a subject, without artifactType when it has none', async () => {
    const subject = await pushSubject('app/idx');
    const member = randomImage();
    await pushImage(env.url, 'app/idx', 'member', member);
    const index = imageIndex({ manifests: [descriptorOf(member.manifest)], subject });

    const pushed = await pushManifest(env.url, 'app/idx', 'bundle', index);
    assert.equal(pushed.status, 201);
    assert.equal(pushed.headers.get('oci-subject'), subject.digest);

    const [entry] = (await getReferrers(env.url, 'app/idx', subject.digest)).body?.manifests ?? [];
    assert.equal(entry?.mediaType, INDEX_TYPE);
    assert.equal(entry?.digest, index.digest);
    assert.equal(entry !== undefined && 'artifactType' in entry, false);
  });

  it('lists a referrer pushed before its subject', async () => {
    const future = randomImage();
    const subject = descriptorOf(future.manifest);
    const sbom = artifactManifest({ subject, artifactType: SBOM });
    assert.equal((await pushReferrer('app/early', sbom)).status, 201);

    assert.deepEqual(digests((await getReferrers(env.url, 'app/early', subject.digest)).body
      ?.manifests), [sbom.manifest.digest]);
    await pushImage(env.url, 'app/early', 'late', future);
    assert.deepEqual(digests((await getReferrers(env.url, 'app/early', subject.digest)).body
      ?.manifests), [sbom.manifest.digest]);
  });

  it('lists a referrer pushed by digest and then by tag once', async () => {
    const subject = await pushSubject('app/twice');
    const sbom = artifactManifest({ subject, artifactType: SBOM });
    assert.equal((await pushReferrer('app/twice', sbom)).status, 201);
    assert.equal((await pushReferrer('app/twice', sbom, 'sbom-tag')).status, 201);

    const listing = await getReferrers(env.url, 'app/twice', subject.digest);
    assert.deepEqual(digests(listing.body?.manifests), [sbom.manifest.digest]);
  });

  it('does not index a push the registry rejected, nor answer OCI-Subject', async () => {
    const subject = await pushSubject('app/rejected');
    const orphan = artifactManifest({ subject, artifactType: SBOM });
    // Blobs never uploaded: registry 2.8 answers 400 MANIFEST_BLOB_UNKNOWN.
    const pushed = await pushManifest(env.url, 'app/rejected', orphan.manifest.digest,
      orphan.manifest);

    assert.equal(pushed.status, 400);
    assert.equal(pushed.headers.get('oci-subject'), null);
    assert.match(await pushed.text(), /MANIFEST_BLOB_UNKNOWN/);
    const listing = await getReferrers(env.url, 'app/rejected', subject.digest);
    assert.deepEqual(listing.body?.manifests, []);
  });
});

describe('GET /v2/<name>/referrers/<digest>', () => {
  let subject: Descriptor;
  let signature: OciImage;
  let sbom: OciImage;

  before(async () => {
    subject = await pushSubject('team/web');
    signature = artifactManifest({ subject, artifactType: SIGNATURE });
    sbom = artifactManifest({ subject, artifactType: SBOM });
    await pushReferrer('team/web', signature);
    await pushReferrer('team/web', sbom);
  });

  it('filters by artifactType and says so in OCI-Filters-Applied', async () => {
    const filtered = await getReferrers(env.url, 'team/web', subject.digest, SBOM);
    assert.equal(filtered.status, 200);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(digests(filtered.body?.manifests), [sbom.manifest.digest]);

    const unfiltered = await getReferrers(env.url, 'team/web', subject.digest);
    assert.equal(unfiltered.headers.get('oci-filters-applied'), null);
    assert.equal(unfiltered.body?.manifests?.length, 2);
  });

  it('decodes a raw + in the artifactType filter as +, not as a space', async () => {
    const url = `${env.url}/v2/team/web/referrers/${subject.digest}?artifactType=${SBOM}`;
    const response = await fetch(url);
    const body = await response.json() as { manifests: Descriptor[] };
    assert.equal(response.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(digests(body.manifests), [sbom.manifest.digest]);
  });

  it('answers 200 and an empty index for an unknown subject or repository', async () => {
    const unknown = `sha256:${'0'.repeat(64)}`;
    for (const repo of ['team/web', 'never/pushed']) {
      const listing = await getReferrers(env.url, repo, unknown);
      assert.equal(listing.status, 200);
      assert.equal(listing.headers.get('content-type'), INDEX_TYPE);
      assert.deepEqual(listing.body, { schemaVersion: 2, mediaType: INDEX_TYPE, manifests: [] });
    }
  });

  it('answers 400 with an OCI error body for a malformed digest', async () => {
    for (const bad of ['sha256:xyz', 'nocolon', `sha256:${'A'.repeat(64)}`]) {
      const listing = await getReferrers(env.url, 'team/web', bad);
      assert.equal(listing.status, 400, bad);
      assert.equal(listing.body?.errors?.[0]?.code, 'DIGEST_INVALID');
    }
  });

  it('lists only referrers of the repository asked about', async () => {
    const listing = await getReferrers(env.url, 'team/other', subject.digest);
    assert.deepEqual(listing.body?.manifests, []);
  });
});

describe('deleting through the proxy', () => {
  it('drops a deleted referrer from the listing', async () => {
    const subject = await pushSubject('del/ref');
    const signature = artifactManifest({ subject, artifactType: SIGNATURE });
    const sbom = artifactManifest({ subject, artifactType: SBOM });
    await pushReferrer('del/ref', signature);
    await pushReferrer('del/ref', sbom);

    const deleted = await deleteManifest(env.url, 'del/ref', signature.manifest.digest);
    assert.equal(deleted.status, 202);
    const listing = await getReferrers(env.url, 'del/ref', subject.digest);
    assert.deepEqual(digests(listing.body?.manifests), [sbom.manifest.digest]);
  });

  it('keeps the referrers of a deleted subject listable', async () => {
    const subject = await pushSubject('del/subject');
    const sbom = artifactManifest({ subject, artifactType: SBOM });
    await pushReferrer('del/subject', sbom);

    assert.equal((await deleteManifest(env.url, 'del/subject', subject.digest)).status, 202);
    assert.equal((await getManifest(env.url, 'del/subject', subject.digest)).status, 404);
    const listing = await getReferrers(env.url, 'del/subject', subject.digest);
    assert.deepEqual(digests(listing.body?.manifests), [sbom.manifest.digest]);
  });

  it('does not drop a referrer when the registry answers 404 to the delete', async () => {
    // Some registries answer 404 to hide a repository from a caller; such an answer must not
    // let the caller empty the index. Here the manifest really is gone: the entry stays until
    // recovery or a rebuild settles it from the registry.
    const subject = await pushSubject('del/bypass');
    const sbom = artifactManifest({ subject, artifactType: SBOM });
    await pushReferrer('del/bypass', sbom);
    // Once pinned, the mirror is done with it; before that, a pin attempt finding the manifest
    // gone (with the proxy's own access) rightly drops it, which made this test flaky.
    await waitForPin(env.registry.url, 'del/bypass', sbom.manifest.digest);
    assert.equal((await deleteManifest(env.registry.url, 'del/bypass', sbom.manifest.digest))
      .status, 202);

    assert.equal((await deleteManifest(env.url, 'del/bypass', sbom.manifest.digest)).status, 404);
    const listing = await getReferrers(env.url, 'del/bypass', subject.digest);
    assert.deepEqual(digests(listing.body?.manifests), [sbom.manifest.digest]);
  });
});
