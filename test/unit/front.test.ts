import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseHandling } from '../../src/http/front.js';

describe('what the front handler does with a request', () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const blob = `/v2/team/app/blobs/${digest}`;

  it('streams plain pass-through traffic itself', () => {
    for (const [method, url] of [['GET', blob], ['HEAD', '/v2/team/app/manifests/v1'],
      ['PATCH', '/v2/team/app/blobs/uploads/u1?_state=s'], ['GET', '/v2/_catalog?n=10']]) {
      assert.equal(chooseHandling(method ?? '', url ?? '').to, 'stream', url);
    }
  });

  it('hands intercepted routes and escaped paths to the Koa app', () => {
    for (const [method, url] of [['PUT', '/v2/team/app/manifests/v1'],
      ['DELETE', `/v2/team/app/manifests/${digest}`], ['GET', `/v2/a/referrers/${digest}`],
      ['GET', '/v2/a/tags/list'], ['GET', '/healthz'], ['GET', '/readyz'],
      ['GET', '/v2/a%2Fb/blobs/x'], ['GET', `${blob}#frag`]]) {
      assert.equal(chooseHandling(method ?? '', url ?? '').to, 'koa', url);
    }
  });
});
