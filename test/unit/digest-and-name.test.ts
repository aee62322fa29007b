import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeDigest, isDigest, parseDigest } from '../../src/oci/digest.js';
import { isRepositoryName, isTag, parseReference } from '../../src/oci/name.js';

const HEX64 = 'a'.repeat(64);

describe('digest grammar (image-spec descriptor.md "Digests")', () => {
  it('accepts registered algorithms with their exact encoding', () => {
    assert.equal(isDigest(`sha256:${HEX64}`), true);
    assert.equal(isDigest(`sha512:${'0'.repeat(128)}`), true);
  });

  it('rejects registered algorithms with a wrong encoding', () => {
    for (const bad of [`sha256:${'a'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, 'sha256:bad',
      `sha512:${HEX64}`]) {
      assert.equal(isDigest(bad), false, bad);
    }
  });

  it('accepts unknown algorithms that match the grammar, as the spec asks', () => {
    assert.deepEqual(parseDigest('multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8'),
      { algorithm: 'multihash+base58', encoded: 'QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8' });
    assert.equal(isDigest('test+algorithm:alsoSome=InTheEncoded'), true);
  });

  it('rejects what breaks the grammar', () => {
    for (const bad of ['', 'sha256', ':abc', 'sha256:', 'SHA256:abc', 'sha256:ab/cd',
      'sha256::abc', '+sha256:abc', 'sha256:abc def']) {
      assert.equal(isDigest(bad), false, JSON.stringify(bad));
    }
  });

  it('computes the digest of the OCI empty blob', () => {
    assert.equal(computeDigest(Buffer.from('{}')),
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});

describe('repository names and references (distribution-spec "Pulling manifests")', () => {
  it('accepts names of the grammar, with path components', () => {
    for (const name of ['a', 'library/ubuntu', 'my-org/team__x/app.v2', 'a-b--c/d_e']) {
      assert.equal(isRepositoryName(name), true, name);
    }
  });

  it('rejects upper case, traversal, empty components and over-long names', () => {
    for (const name of ['A', 'a//b', '../etc', 'a/../b', '/a', 'a/', 'a__-b', 'a.', '%2e%2e',
      `${'a'.repeat(256)}`]) {
      assert.equal(isRepositoryName(name), false, name);
    }
  });

  it('tells tags from digests', () => {
    assert.deepEqual(parseReference('v1.0'), { kind: 'tag', tag: 'v1.0' });
    assert.deepEqual(parseReference(`sha256:${HEX64}`),
      { kind: 'digest', digest: `sha256:${HEX64}` });
    assert.equal(parseReference('-bad'), undefined);
    assert.equal(parseReference('sha256:nothex'), undefined);
    assert.equal(isTag('a'.repeat(129)), false);
  });
});
