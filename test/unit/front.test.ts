import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseHandling, originFormOf } from '../../src/http/front.js';
import { blobRedirectLocation } from '../../src/http/redirect.js';

describe('what the front handler does with a request', () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const blob = `/v2/team/app/blobs/${digest}`;

  it('streams plain pass-through traffic itself', () => {
    for (const [method, url] of [['GET', blob], ['HEAD', '/v2/team/app/manifests/v1'],
      ['PATCH', '/v2/team/app/blobs/uploads/u1?_state=s'], ['GET', '/v2/_catalog?n=10']]) {
      assert.equal(chooseHandling(method ?? '', url ?? '', false).to, 'stream', url);
    }
  });

  it('hands intercepted routes and escaped paths to the Koa app', () => {
    for (const [method, url] of [['PUT', '/v2/team/app/manifests/v1'],
      ['DELETE', `/v2/team/app/manifests/${digest}`], ['GET', `/v2/a/referrers/${digest}`],
      ['GET', '/v2/a/tags/list'], ['GET', '/healthz'], ['GET', '/readyz'],
      ['GET', '/v2/a%2Fb/blobs/x'], ['GET', `${blob}#frag`]]) {
      assert.equal(chooseHandling(method ?? '', url ?? '', true).to, 'koa', url);
    }
  });

  it('redirects only blob GETs, and only in redirect mode', () => {
    assert.equal(chooseHandling('GET', `${blob}?ns=x`, true).to, 'redirect');
    assert.equal(chooseHandling('GET', blob, false).to, 'stream');
    assert.equal(chooseHandling('HEAD', blob, true).to, 'stream');
    assert.equal(chooseHandling('GET', '/v2/team/app/blobs/uploads/u1', true).to, 'stream');
  });

  // Regression: any '%' sent the request to Koa, which streamed a blob GET whose query held
  // an escape (`?c=%20d`) instead of redirecting it.
  it('redirects a blob GET whose query holds escapes, and streams such plain traffic', () => {
    assert.equal(chooseHandling('GET', `${blob}?a=b&c=%20d`, true).to, 'redirect');
    assert.equal(chooseHandling('GET', '/v2/_catalog?last=a%2Fb', false).to, 'stream');
  });
});

describe('blob redirect location', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it('keeps the path and the query on the redirect origin', () => {
    const base = new URL('https://registry.example.test:5443');
    assert.equal(blobRedirectLocation(base, `/v2/team/app/blobs/${digest}?ns=docker.io&x=1`),
      `https://registry.example.test:5443/v2/team/app/blobs/${digest}?ns=docker.io&x=1`);
  });

  it('adds nothing when there is no query', () => {
    assert.equal(blobRedirectLocation(new URL('http://10.0.0.5:5001/'),
      `/v2/a/blobs/${digest}`), `http://10.0.0.5:5001/v2/a/blobs/${digest}`);
  });
});

describe('origin-form of a request target (RFC 9112 §3.2)', () => {
  it('keeps path and query of an absolute-form target and drops the rest', () => {
    assert.equal(originFormOf('http://u:p@reg.example:5000/v2/a/tags/list?n=1'),
      '/v2/a/tags/list?n=1');
    assert.equal(originFormOf('https://[::1]:5000'), '/');
    assert.equal(originFormOf('http://h?x=1'), '/?x=1');
    assert.equal(originFormOf('http://[/v2/'), '/v2/');
    assert.equal(originFormOf('/v2/a/blobs/x?y'), '/v2/a/blobs/x?y');
  });

  it('has none for asterisk-form, authority-form and other text', () => {
    for (const target of ['*', '127.0.0.1:5000', 'v2/', '', 'http:/x']) {
      assert.equal(originFormOf(target), undefined, target);
    }
  });
});
