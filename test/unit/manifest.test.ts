import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestInvalidError } from '../../src/errors.js';
import { readReferrer } from '../../src/oci/manifest.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/oci/media-types.js';

const SUBJECT = {
  mediaType: OCI_MANIFEST,
  digest: `sha256:${'b'.repeat(64)}`,
  size: 123,
};
const DIGEST = `sha256:${'c'.repeat(64)}`;
const EMPTY = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: `sha256:${'4'.repeat(64)}`,
  size: 2,
};

function bytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function manifest(extra: Record<string, unknown>): Buffer {
  const base = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY, layers: [EMPTY] };
  return bytes({ ...base, ...extra });
}

describe('readReferrer: artifactType (distribution-spec v1.1.1 Listing Referrers)', () => {
  it('copies a manifest\'s own artifactType', () => {
    const body = manifest({ subject: SUBJECT, artifactType: 'application/spdx+json' });
    const referrer = readReferrer(body, OCI_MANIFEST, DIGEST);
    assert.equal(referrer?.subject, SUBJECT.digest);
    assert.deepEqual(referrer?.descriptor, {
      mediaType: OCI_MANIFEST, digest: DIGEST, size: body.length,
      artifactType: 'application/spdx+json',
    });
  });

  it('falls back to config.mediaType for an image manifest without artifactType', () => {
    const config = { ...EMPTY, mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' };
    const referrer = readReferrer(manifest({ subject: SUBJECT, config }), OCI_MANIFEST, DIGEST);
    assert.equal(referrer?.descriptor.artifactType, config.mediaType);
  });

  it('treats an empty artifactType as absent', () => {
    const referrer = readReferrer(manifest({ subject: SUBJECT, artifactType: '' }), OCI_MANIFEST,
      DIGEST);
    assert.equal(referrer?.descriptor.artifactType, EMPTY.mediaType);
  });

  it('omits artifactType for an index without one, and keeps an index\'s own', () => {
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], subject: SUBJECT };
    const plain = readReferrer(bytes(index), OCI_INDEX, DIGEST);
    assert.equal(plain?.descriptor.mediaType, OCI_INDEX);
    assert.equal('artifactType' in (plain?.descriptor ?? {}), false);

    const typed = readReferrer(bytes({ ...index, artifactType: 'application/x.bundle' }),
      OCI_INDEX, DIGEST);
    assert.equal(typed?.descriptor.artifactType, 'application/x.bundle');
  });

  it('copies annotations exactly and adds none', () => {
    const annotations = { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z', empty: '' };
    const body = manifest({ subject: SUBJECT, annotations });
    const referrer = readReferrer(body, OCI_MANIFEST, DIGEST);
    assert.deepEqual(referrer?.descriptor.annotations, annotations);
  });
});

describe('readReferrer: which pushes are referrers', () => {
  it('returns undefined for a manifest without subject', () => {
    assert.equal(readReferrer(manifest({}), OCI_MANIFEST, DIGEST), undefined);
  });

  it('ignores subject on kinds that do not define it (Docker schema 2)', () => {
    const docker = 'application/vnd.docker.distribution.manifest.v2+json';
    const body = bytes({ schemaVersion: 2, mediaType: docker, subject: SUBJECT });
    assert.equal(readReferrer(body, docker, DIGEST), undefined);
  });

  it('takes the kind from the body when no Content-Type was sent', () => {
    const referrer = readReferrer(manifest({ subject: SUBJECT }), undefined, DIGEST);
    assert.equal(referrer?.descriptor.mediaType, OCI_MANIFEST);
  });

  it('ignores Content-Type parameters', () => {
    const referrer = readReferrer(manifest({ subject: SUBJECT }), `${OCI_MANIFEST}; charset=utf-8`,
      DIGEST);
    assert.equal(referrer?.descriptor.mediaType, OCI_MANIFEST);
  });
});

describe('readReferrer: broken OCI manifests are refused before they reach the registry', () => {
  const cases: [string, Buffer][] = [
    ['not JSON', Buffer.from('{not json')],
    ['a JSON array', bytes([1, 2])],
    ['subject not an object', manifest({ subject: 'sha256:abc' })],
    ['subject digest malformed', manifest({ subject: { ...SUBJECT, digest: 'sha256:xyz' } })],
    ['subject size negative', manifest({ subject: { ...SUBJECT, size: -1 } })],
    ['subject size fractional', manifest({ subject: { ...SUBJECT, size: 1.5 } })],
    ['subject mediaType missing', manifest({ subject: { digest: SUBJECT.digest, size: 1 } })],
    ['artifactType not a string', manifest({ subject: SUBJECT, artifactType: 7 })],
    ['annotation value not a string', manifest({ subject: SUBJECT, annotations: { a: 1 } })],
    ['body mediaType contradicts Content-Type', bytes({ mediaType: OCI_INDEX, subject: SUBJECT })],
  ];
  for (const [name, body] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(() => readReferrer(body, OCI_MANIFEST, DIGEST), ManifestInvalidError);
    });
  }
});
