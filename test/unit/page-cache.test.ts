import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PageCache, pageCacheKey } from '../../src/index-store/page-cache.js';

const KB = 1024;

describe('PageCache', () => {
  it('returns a page with the version it was read at', () => {
    const cache = new PageCache<string>(100 * KB);
    cache.set('a', 'v1', 'page a', 10);
    assert.equal(cache.get('a')?.version, 'v1');
    assert.equal(cache.get('a')?.page, 'page a');
    assert.equal(cache.get('b'), undefined);
  });

  it('replaces a page asked again and keeps its byte count right', () => {
    const cache = new PageCache<string>(100 * KB);
    cache.set('a', 'v1', 'old', 10 * KB);
    const withOld = cache.bytes;
    cache.set('a', 'v1', 'new', 5 * KB);
    assert.equal(cache.get('a')?.page, 'new');
    assert.equal(withOld - cache.bytes, 5 * KB);
  });

  it('drops the least recently used pages past its byte bound', () => {
    const cache = new PageCache<string>(100 * KB);
    for (const key of ['a', 'b', 'c']) cache.set(key, 'v', key, 20 * KB);
    cache.get('a');
    cache.set('d', 'v', 'd', 20 * KB);
    cache.set('e', 'v', 'e', 24 * KB);
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a') !== undefined && cache.get('e') !== undefined);
    assert.ok(cache.bytes <= 100 * KB, `${cache.bytes} bytes`);
  });

  it('does not keep a page larger than a quarter of it', () => {
    const cache = new PageCache<string>(100 * KB);
    cache.set('a', 'v', 'a', 26 * KB);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.bytes, 0);
  });

  // Regression: empty pages counted 0 bytes and keys nothing, so a caller varying the filter
  // grew a cache bounded to 0 bytes (and the default one) by about 7 KB a query, without end.
  it('counts keys and entries, so empty pages under ever new keys stay within the bound', () => {
    const cache = new PageCache<string>(64 * KB);
    for (let n = 0; n < 10_000; n++) cache.set(`${'y'.repeat(6000)}${n}`, 'v', '', 0);
    assert.ok(cache.bytes <= 64 * KB, `${cache.bytes} bytes`);
  });

  it('keeps nothing when its bound is 0', () => {
    const cache = new PageCache<string>(0);
    cache.set('a', 'v', '', 0);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.bytes, 0);
  });
});

describe('pageCacheKey', () => {
  it('tells apart every part of the question, but not the order of the filter', () => {
    const base = pageCacheKey('r', 's', ['a', 'b'], undefined, 100);
    assert.equal(pageCacheKey('r', 's', ['b', 'a'], undefined, 100), base);
    for (const other of [pageCacheKey('r2', 's', ['a', 'b'], undefined, 100),
      pageCacheKey('r', 's2', ['a', 'b'], undefined, 100),
      pageCacheKey('r', 's', ['a'], undefined, 100),
      pageCacheKey('r', 's', ['a', 'b'], 'sha256:x', 100),
      pageCacheKey('r', 's', ['a', 'b'], undefined, 101)]) {
      assert.notEqual(other, base);
    }
  });
});
