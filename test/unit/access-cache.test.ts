import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessCache } from '../../src/http/access-cache.js';

describe('AccessCache', () => {
  it('remembers an allowed caller for its lifetime only', () => {
    const cache = new AccessCache(1000, 10);
    const key = cache.key('Bearer abc', 'org/app');
    assert.equal(cache.isAllowed(key, 0), false);
    cache.allow(key, 0);
    assert.equal(cache.isAllowed(key, 999), true);
    assert.equal(cache.isAllowed(key, 1000), false);
  });

  it('keys by credentials and repository without keeping the credentials', () => {
    const cache = new AccessCache(1000, 10);
    const key = cache.key('Basic dXNlcjpzM2NyZXQ=', 'org/app');
    assert.ok(!key.includes('dXNlcjpzM2NyZXQ'));
    assert.notEqual(key, cache.key('Basic b3RoZXI6cGFzcw==', 'org/app'));
    assert.notEqual(key, cache.key('Basic dXNlcjpzM2NyZXQ=', 'org/other'));
    assert.notEqual(cache.key(undefined, 'a'), cache.key('x', 'a'));
  });

  it('stays within its size bound, dropping the oldest', () => {
    const cache = new AccessCache(1000, 3);
    const keys = ['a', 'b', 'c', 'd'].map((repository) => cache.key(undefined, repository));
    for (const key of keys) cache.allow(key, 0);
    assert.equal(cache.size, 3);
    assert.equal(cache.isAllowed(keys[0] ?? '', 1), false);
    assert.equal(cache.isAllowed(keys[3] ?? '', 1), true);
  });

  it('remembers nothing with a lifetime of 0', () => {
    const cache = new AccessCache(0, 3);
    const key = cache.key(undefined, 'a');
    cache.allow(key, 0);
    assert.equal(cache.isAllowed(key, 0), false);
  });
});
