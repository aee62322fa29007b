// Pure lifecycle rules: name patterns, durations, the policy file parser, tag-lock decisions,
// the cascade order and the cascade request extension.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PolicyInvalidError, QueryInvalidError } from '../../src/errors.js';
import {
  booleanParam, refuseUnknownParams, singleParam,
} from '../../src/oci/extension-query.js';
import { deletionOrder, readCascadeRequest, runCascade } from '../../src/lifecycle/cascade.js';
import { parseDuration, parseTimeBound, resolveTimeBound } from '../../src/lifecycle/duration.js';
import { compilePattern } from '../../src/lifecycle/pattern.js';
import { parsePolicyDocument, parseTagLock } from '../../src/lifecycle/policy.js';
import { lockingRule, mayPushLockedTag } from '../../src/lifecycle/tag-locks.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('name patterns', () => {
  it('keeps * within one repository path component and lets ** cross them', () => {
    assert.ok(compilePattern('prod/*', 'path').matches('prod/app'));
    assert.ok(!compilePattern('prod/*', 'path').matches('prod/team/app'));
    assert.ok(compilePattern('prod/**', 'path').matches('prod/team/app'));
    assert.ok(compilePattern('**', 'path').matches('a/b/c'));
  });

  it('lets * match anything in flat patterns and treats . + - literally', () => {
    assert.ok(compilePattern('application/vnd.*+json', 'flat').matches('application/vnd.x/y+json'));
    assert.ok(!compilePattern('v1.0', 'flat').matches('v1x0'));
    assert.ok(compilePattern('v?', 'flat').matches('v2'));
    assert.ok(!compilePattern('v?', 'flat').matches('v10'));
  });
});

describe('durations and time bounds', () => {
  it('reads s m h d w and refuses anything else', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('2w'), 14 * 86_400_000);
    for (const bad of ['', '1', '1y', '-1d', '1.5h', 'd']) {
      assert.equal(parseDuration(bad), undefined);
    }
  });

  it('reads RFC 3339 times and now-relative bounds', () => {
    const now = Date.parse('2026-12-04T00:00:00Z');
    const fixed = parseTimeBound('2026-01-01T00:00:00Z');
    assert.ok(fixed !== undefined);
    assert.equal(resolveTimeBound(fixed, now), Date.parse('2026-01-01T00:00:00Z'));
    const relative = parseTimeBound('now-1d');
    assert.ok(relative !== undefined);
    assert.equal(resolveTimeBound(relative, now), now - 86_400_000);
    assert.equal(parseTimeBound('yesterday'), undefined);
    assert.equal(parseTimeBound('2026-01-01'), undefined);
  });
});

describe('policy file', () => {
  it('reads tag locks and retention policies', () => {
    const document = parsePolicyDocument(JSON.stringify({
      tagLocks: [{ name: 'releases', repository: 'prod/**', tag: 'v*' }],
      retention: [{ name: 'one-signature', artifactType: 'application/vnd.*', keepNewest: 1 },
        { name: 'scores', annotation: { key: 'x.score', max: 3 } },
        { name: 'expired', annotation: { key: 'x.expires', before: 'now' } },
        { name: 'orphans', orphanedFor: '7d' }],
    }));
    assert.equal(document.tagLocks[0]?.name, 'releases');
    assert.equal(document.retention.length, 4);
    assert.equal(document.retention[0]?.keepNewest, 1);
    assert.equal(document.retention[3]?.orphanedForMs, 7 * 86_400_000);
  });

  const refusals: [string, unknown, string][] = [
    ['an unknown field (a typo must not widen a policy)',
      { retention: [{ name: 'x', keepNewst: 1 }] }, 'retention[0].keepNewst'],
    ['a policy without any condition', { retention: [{ name: 'x' }] }, 'retention[0]'],
    ['a zero count', { retention: [{ name: 'x', keepNewest: 0 }] }, 'retention[0].keepNewest'],
    ['a bad duration', { retention: [{ name: 'x', olderThan: '3 days' }] },
      'retention[0].olderThan'],
    ['mixed number and time ranges',
      { retention: [{ name: 'x', annotation: { key: 'k', min: 1, before: 'now' } }] },
      'retention[0].annotation'],
    ['a pattern with characters names never hold',
      { tagLocks: [{ name: 'x', repository: 'a b', tag: '*' }] }, 'tagLocks[0].repository'],
    ['a duplicate name', { tagLocks: [{ name: 'x', repository: '*', tag: '*' },
      { name: 'x', repository: '*', tag: 'v*' }] }, 'tagLocks'],
    ['a bad rule name', { tagLocks: [{ name: 'X Y', repository: '*', tag: '*' }] },
      'tagLocks[0].name'],
  ];
  for (const [what, document, field] of refusals) {
    it(`refuses ${what}, naming the field`, () => {
      assert.throws(() => parsePolicyDocument(JSON.stringify(document)),
        (error: unknown) => error instanceof PolicyInvalidError && error.field === field);
    });
  }

  it('reads the example policy file the README shows (deploy/policy.example.json)', () => {
    const document = parsePolicyDocument(readFileSync('deploy/policy.example.json', 'utf8'));
    assert.deepEqual(document.retention.map((policy) => policy.name),
      ['one-signature', 'old-scans', 'low-scores', 'expired', 'orphans']);
    assert.equal(document.tagLocks[0]?.name, 'releases');
  });

  it('refuses a file that is not JSON', () => {
    assert.throws(() => parsePolicyDocument('tagLocks: []'), PolicyInvalidError);
  });
});

describe('tag locks', () => {
  const rules = [parseTagLock({ name: 'releases', repository: 'prod/*', tag: 'v*' }, 'r',
    'file')];

  it('locks matching tags of matching repositories only', () => {
    assert.equal(lockingRule(rules, 'prod/app', 'v1.2')?.name, 'releases');
    assert.equal(lockingRule(rules, 'prod/app', 'latest'), undefined);
    assert.equal(lockingRule(rules, 'dev/app', 'v1.2'), undefined);
  });

  it('never locks referrers tags or pin tags, so signatures can still be attached', () => {
    const everything = [parseTagLock({ name: 'all', repository: '**', tag: '*' }, 'r', 'file')];
    assert.equal(lockingRule(everything, 'prod/app', `sha256-${'a'.repeat(64)}`), undefined);
    assert.equal(lockingRule(everything, 'prod/app', `_rp.pin.sha256-${'a'.repeat(64)}`),
      undefined);
    assert.equal(lockingRule(everything, 'prod/app', 'latest')?.name, 'all');
  });

  it('lets a locked tag be created, or re-pushed with the bytes it holds, and nothing else', () => {
    assert.ok(mayPushLockedTag(undefined, A));
    assert.ok(mayPushLockedTag(A, A));
    assert.ok(!mayPushLockedTag(A, B));
  });
});

describe('cascade order', () => {
  it('puts every referrer before its subject, deepest first, the root last', () => {
    const sbom = 'sbom';
    const tree = new Map([['image', [sbom, 'sig']], [sbom, ['sbom-sig']]]);
    const order = deletionOrder('image', tree).map((step) => step.digest);
    assert.deepEqual(order, ['sbom-sig', sbom, 'sig', 'image']);
    const position = (digest: string) => order.indexOf(digest);
    assert.ok(position('sbom-sig') < position(sbom));
  });

  it('records each step with its subject and takes a digest met twice once', () => {
    const tree = new Map([['image', ['x', 'x']], ['x', ['image']]]);
    assert.deepEqual(deletionOrder('image', tree), [
      { digest: 'x', subject: 'image' }, { digest: 'image', subject: undefined }]);
  });
});

describe('runCascade', () => {
  const steps = ['c', 'b', 'a'].map((digest) => ({ digest, subject: undefined }));

  it('stops at the first refusal and reports what was done and what is left', async () => {
    const outcome = await runCascade(steps, async (step) =>
      ({ gone: step.digest !== 'b', response: step.digest }));
    assert.deepEqual(outcome.deleted.map((step) => step.digest), ['c']);
    assert.deepEqual(outcome.remaining.map((step) => step.digest), ['b', 'a']);
    assert.equal(outcome.failure?.response, 'b');
  });

  it('turns a broken exchange into a failure that still reports progress', async () => {
    const outcome = await runCascade(steps, async (step) => {
      if (step.digest === 'a') throw new Error('registry went away');
      return { gone: true, response: step.digest };
    });
    assert.deepEqual(outcome.deleted.map((step) => step.digest), ['c', 'b']);
    assert.match(String(outcome.failure?.error), /went away/);
  });
});

describe('cascade request extension', () => {
  const query = (text: string) => new URLSearchParams(text);

  it('follows the setting unless the request says otherwise', () => {
    assert.deepEqual(readCascadeRequest(query(''), 'on-request'), { cascade: false,
      dryRun: false });
    assert.deepEqual(readCascadeRequest(query(''), 'always'), { cascade: true, dryRun: false });
    assert.deepEqual(readCascadeRequest(query('cascade=false'), 'always'), { cascade: false,
      dryRun: false });
    assert.deepEqual(readCascadeRequest(query('cascade=true&dry-run=true'), 'on-request'),
      { cascade: true, dryRun: true });
  });

  it('refuses cascade=true while cascading is off, and values other than true or false', () => {
    assert.throws(() => readCascadeRequest(query('cascade=true'), 'off'), /CASCADE_DELETE is off/);
    assert.throws(() => readCascadeRequest(query('cascade=yes'), 'on-request'), /true or false/);
    assert.throws(() => readCascadeRequest(query('cascade=true&cascade=true'), 'on-request'),
      /more than once/);
  });

  // Regression: a typo next to the extension (`dryrun`) must not turn a dry run into a real one.
  it('refuses unknown parameters beside the extension and ignores them without it', () => {
    assert.throws(() => readCascadeRequest(query('cascade=true&dryrun=true'), 'on-request'),
      (error: unknown) => error instanceof QueryInvalidError && error.parameter === 'dryrun');
    assert.deepEqual(readCascadeRequest(query('foo=1'), 'on-request'), { cascade: false,
      dryRun: false });
  });
});

describe('extension query parameters', () => {
  const query = (text: string) => new URLSearchParams(text);

  it('take true or false once, and nothing else', () => {
    assert.equal(booleanParam(query('dry-run=true'), 'dry-run'), true);
    assert.equal(booleanParam(query(''), 'dry-run'), undefined);
    for (const bad of ['dry-run', 'dry-run=1', 'dry-run=TRUE', 'dry-run=true&dry-run=true']) {
      assert.throws(() => booleanParam(query(bad), 'dry-run'), QueryInvalidError, bad);
    }
    assert.throws(() => singleParam(query('repository=a&repository=b'), 'repository'),
      /more than once/);
    assert.throws(() => refuseUnknownParams(query('bogus=1'), ['dry-run']), /unknown/);
  });
});
