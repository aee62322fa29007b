import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPinTag, isReferrersTag, pinTag, referrersTag } from '../../src/oci/referrers-tag.js';
import { nextTagsLink, pageTags, parseTagQuery } from '../../src/oci/tag-list.js';
import { isTag } from '../../src/oci/name.js';

const SHA256 = `sha256:${'ab'.repeat(32)}`;
const SHA512 = `sha512:${'cd'.repeat(64)}`;

describe('referrersTag (distribution-spec referrers tag schema)', () => {
  it('is <alg>-<hex> for sha256', () => {
    assert.equal(referrersTag(SHA256), `sha256-${'ab'.repeat(32)}`);
  });

  it('truncates the encoded part to 64 characters for sha512', () => {
    assert.equal(referrersTag(SHA512), `sha512-${'cd'.repeat(32)}`);
  });

  it('truncates the algorithm to 32 characters and replaces characters illegal in tags', () => {
    const exotic = `${'a'.repeat(20)}+${'b'.repeat(20)}:abc=def`;
    assert.equal(referrersTag(exotic), `${'a'.repeat(20)}-${'b'.repeat(11)}-abc-def`);
  });

  it('always yields a valid tag', () => {
    for (const digest of [SHA256, SHA512, 'x+y.z_w:A=B-c_d', `a:${'Z'.repeat(200)}`]) {
      assert.ok(isTag(referrersTag(digest)), digest);
      assert.ok(isTag(pinTag(digest)), digest);
    }
  });
});

describe('internal tags', () => {
  it('recognises the referrers tags of registered algorithms only', () => {
    assert.equal(isReferrersTag(referrersTag(SHA256)), true);
    assert.equal(isReferrersTag(referrersTag(SHA512)), true);
    assert.equal(isReferrersTag('v1.0'), false);
    assert.equal(isReferrersTag(`sha256-${'ab'.repeat(32)}.sig`), false, 'a cosign tag stays');
  });

  it('pin tags cannot collide with referrers tags or cosign tags', () => {
    const pin = pinTag(SHA256);
    assert.equal(isPinTag(pin), true);
    assert.equal(isReferrersTag(pin), false);
    assert.equal(isPinTag(referrersTag(SHA256)), false);
    assert.equal(isPinTag(`sha256-${'ab'.repeat(32)}.att`), false);
  });
});

describe('tag list paging (distribution-spec "Listing Tags")', () => {
  const tags = ['b', 'a', 'd', 'c', 'a'];

  it('orders lexically and removes duplicates', () => {
    assert.deepEqual(pageTags(tags, { n: undefined, last: undefined }),
      { tags: ['a', 'b', 'c', 'd'], nextLast: undefined });
  });

  it('caps at n, continues strictly after last, and says when more follow', () => {
    assert.deepEqual(pageTags(tags, { n: 2, last: undefined }),
      { tags: ['a', 'b'], nextLast: 'b' });
    assert.deepEqual(pageTags(tags, { n: 2, last: 'b' }),
      { tags: ['c', 'd'], nextLast: undefined });
    assert.deepEqual(pageTags(tags, { n: undefined, last: 'bb' }),
      { tags: ['c', 'd'], nextLast: undefined });
  });

  it('answers n=0 with an empty list and no next page', () => {
    assert.deepEqual(pageTags(tags, { n: 0, last: undefined }), { tags: [], nextLast: undefined });
  });

  it('rejects an n that is not a non-negative integer', () => {
    for (const bad of ['n=-1', 'n=abc', 'n=1.5', 'n=99999999999']) {
      assert.equal(parseTagQuery(bad), undefined, bad);
    }
    assert.deepEqual(parseTagQuery('n=5&last=v1'), { n: 5, last: 'v1' });
  });

  it('links the next page with n and last', () => {
    assert.equal(nextTagsLink('org/app', 2, 'v1.0'),
      '</v2/org/app/tags/list?n=2&last=v1.0>; rel="next"');
  });
});
