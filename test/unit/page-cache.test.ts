import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PageCache, pageCacheKey } from '../../src/index-store/page-cache.js';

describe('PageCache', () => {
  it('returns a page with the version it was read at', () => {
    const cache = new PageCache<string>(1000);
    cache.set('a', 'v1', 'page a', 10);
    assert.deepEqual(cache.get('a'), { version: 'v1', page: 'page a', bytes: 10 });
    assert.equal(cache.get('b'), undefined);
  });

  it('replaces a page asked again and keeps its byte count right', () => {
    const cache = new PageCache<string>(1000);
    cache.set('a', 'v1', 'old', 100);
    cache.set('a', 'v2', 'new', 50);
    assert.equal(cache.get('a')?.version, 'v2');
    assert.equal(cache.bytes, 50);
  });

  it('drops the least recently used pages past its byte bound', () => {
    const cache = new PageCache<string>(1000);
    cache.set('a', 'v', 'a', 200);
    cache.set('b', 'v', 'b', 200);
    cache.set('c', 'v', 'c', 200);
    cache.get('a');
    cache.set('d', 'v', 'd', 200);
    cache.set('e', 'v', 'e', 250);
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a') !== undefined && cache.get('e') !== undefined);
    assert.ok(cache.bytes <= 1000, `${cache.bytes} bytes`);
  });

  it('does not keep a page larger than a quarter of it', () => {
    const cache = new PageCache<string>(1000);
    cache.set('a', 'v', 'a', 251);
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
