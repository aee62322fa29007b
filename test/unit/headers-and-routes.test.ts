import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  connectionHeaderNames, rebaseLink, rebaseUrl, withoutHopByHop,
} from '../../src/http/headers.js';
import { classifyRoute } from '../../src/http/routes.js';

const UP = 'http://10.0.0.5:5001';
const PUBLIC = 'https://registry.example.test';

describe('URLs the upstream hands out lead back through the proxy', () => {
  it('rebases absolute upload and blob locations on the upstream origin', () => {
    assert.equal(rebaseUrl(`${UP}/v2/a/blobs/uploads/u1?_state=x`, UP, PUBLIC),
      `${PUBLIC}/v2/a/blobs/uploads/u1?_state=x`);
  });

  it('leaves relative URLs, other hosts and look-alike origins alone', () => {
    for (const url of ['/v2/a/blobs/uploads/u1', 'https://s3.example.test/blob',
      `${UP}0/v2/`]) {
      assert.equal(rebaseUrl(url, UP, PUBLIC), url);
    }
  });

  it('rebases every URI in a Link header', () => {
    assert.equal(rebaseLink(`<${UP}/v2/_catalog?last=b&n=2>; rel="next"`, UP, PUBLIC),
      `<${PUBLIC}/v2/_catalog?last=b&n=2>; rel="next"`);
  });
});

describe('withoutHopByHop', () => {
  it('drops connection-specific headers, including those Connection names', () => {
    const kept = withoutHopByHop({
      connection: 'keep-alive, x-private', 'x-private': '1', 'transfer-encoding': 'chunked',
      host: 'h', 'content-length': '5', authorization: 'Bearer t', accept: 'a/b',
    });
    assert.deepEqual(kept, { authorization: 'Bearer t', accept: 'a/b' });
  });
});

describe('classifyRoute', () => {
  // Regression: the bare prefix went to the registry, which answered a plain-text 404.
  it('takes the admin prefix with and without its trailing slash', () => {
    for (const path of ['/_referrers-proxy/admin', '/_referrers-proxy/admin/tag-locks']) {
      assert.equal(classifyRoute('GET', path).kind, 'admin', path);
    }
    assert.equal(classifyRoute('GET', '/_referrers-proxy/administer').kind, 'other');
  });

  it('intercepts manifest PUT/DELETE and the referrers API only', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(classifyRoute('PUT', '/v2/org/app/manifests/v1'),
      { kind: 'manifest-put', repository: 'org/app', reference: 'v1', intercepted: true });
    assert.equal(classifyRoute('DELETE', `/v2/a/manifests/${digest}`).kind, 'manifest-delete');
    assert.deepEqual(classifyRoute('GET', `/v2/a/b/referrers/${digest}`),
      { kind: 'referrers', repository: 'a/b', reference: digest, intercepted: true });
    assert.equal(classifyRoute('GET', '/v2/a/manifests/v1').intercepted, false);
  });

  it('names pass-through routes for the log line', () => {
    assert.equal(classifyRoute('GET', '/v2/').kind, 'base');
    assert.equal(classifyRoute('GET', '/v2/_catalog').kind, 'catalog');
    assert.equal(classifyRoute('POST', '/v2/a/blobs/uploads/').kind, 'upload');
    assert.equal(classifyRoute('PATCH', '/v2/a/blobs/uploads/uuid').kind, 'upload');
    assert.equal(classifyRoute('GET', '/v2/a/blobs/sha256:00').kind, 'blob');
    assert.equal(classifyRoute('GET', '/v2/a/b/tags/list').kind, 'tags-list');
    assert.equal(classifyRoute('HEAD', '/v2/a/b/tags/list').kind, 'tags');
    assert.equal(classifyRoute('GET', '/healthz').kind, 'healthz');
  });
});

describe('connectionHeaderNames', () => {
  it('names the connection-specific request headers and those Connection lists', () => {
    const names = connectionHeaderNames({ connection: 'close, X-Hop', 'x-hop': '1', te: 'trailers',
      'keep-alive': 'timeout=5', accept: 'a/b', authorization: 'Bearer t' });
    assert.deepEqual(names.sort(), ['connection', 'keep-alive', 'te', 'x-hop']);
  });

  it('never names the body framing, even when Connection lists it', () => {
    const names = connectionHeaderNames({ connection: 'content-length, transfer-encoding',
      'content-length': '5', 'transfer-encoding': 'chunked' });
    assert.deepEqual(names, ['connection']);
  });
});
