// Pure lifecycle rules: name patterns, durations, the policy file parser, tag-lock decisions,
// the cascade order and the cascade request extension.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PolicyInvalidError, QueryInvalidError } from '../../src/errors.js';
import {
  booleanParam, refuseUnknownParams, singleParam,
} from '../../src/oci/extension-query.js';
import { deletionOrder, readCascadeRequest, runCascade } from '../../src/lifecycle/cascade.js';
import { parseDuration, parseTimeBound, resolveTimeBound } from '../../src/lifecycle/duration.js';
import { compilePattern, MAX_MATCHED_LENGTH } from '../../src/lifecycle/pattern.js';
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

// Regression: patterns compiled to backtracking RegExps stalled the process on hostile names
// (a tag of 40 "a" against `*a*a*a*a*a*a*a*a*a*a*b` took 55 s; a 150 KB artifactType took
// 20 s against `application/vnd.*.*+json`). These must answer at once: no wall clock is
// asserted, the test would simply not finish.
describe('name patterns against hostile names', () => {
  it('decide many-wildcard patterns without backtracking', () => {
    const evil = compilePattern('*a*a*a*a*a*a*a*a*a*a*b', 'flat');
    assert.equal(evil.matches('a'.repeat(128)), false);
    assert.equal(evil.matches(`${'a'.repeat(127)}b`), true);
    const types = compilePattern('application/vnd.*.*+json', 'flat');
    assert.equal(types.matches(`application/vnd.${'.'.repeat(150_000)}x`), false);
    assert.equal(types.matches('application/vnd.a.b+json'), true);
  });

  it('never match names longer than any real name', () => {
    assert.equal(compilePattern('*', 'flat').matches('x'.repeat(MAX_MATCHED_LENGTH + 1)), false);
  });

  it('agree with the regular-expression reading of the glob on short names', () => {
    const alphabet = fc.constantFrom('a', 'b', '/', '.', '-');
    const patternChar = fc.constantFrom('a', 'b', '/', '.', '*', '?', '**');
    fc.assert(fc.property(fc.array(patternChar, { minLength: 1, maxLength: 8 }),
      fc.array(alphabet, { maxLength: 10 }), fc.constantFrom('path', 'flat'),
      (parts, chars, kind) => {
        const source = parts.join('');
        const name = chars.join('');
        const oracle = new RegExp(`^${regexOf(source, kind)}$`);
        return compilePattern(source, kind).matches(name) === oracle.test(name);
      }), { numRuns: 2000 });
  });
});

/** The glob as a RegExp: fine as a test oracle on short names, too slow for hostile ones. */
function regexOf(source: string, kind: 'path' | 'flat'): string {
  const one = kind === 'path' ? '[^/]' : '.';
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const char = source[i] ?? '';
    if (char === '*' && source[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (char === '*') {
      out += `${one}*`;
    } else if (char === '?') {
      out += one;
    } else {
      out += char.replace(/[.+/\-]/g, '\\$&');
    }
  }
  return out;
}

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
    assert.equal(parseTimeBound('2026-02-30T00:00:00Z'), undefined);
    assert.equal(parseTimeBound('2026-01-01T24:00:00Z'), undefined);
    assert.ok(parseTimeBound('2024-02-29T00:00:00+02:00') !== undefined, 'a leap day exists');
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
    ['an empty numeric range (min above max)',
      { retention: [{ name: 'x', annotation: { key: 'k', min: 5, max: 1 } }] },
      'retention[0].annotation'],
    ['an empty time range',
      { retention: [{ name: 'x', annotation: { key: 'k', after: '2026-02-01T00:00:00Z',
        before: '2026-01-01T00:00:00Z' } }] }, 'retention[0].annotation'],
    ['a date that does not exist (no roll-over to March)',
      { retention: [{ name: 'x', annotation: { key: 'k', before: '2026-02-30T00:00:00Z' } }] },
      'retention[0].annotation.before'],
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

  // Regression: the recursive walk overflowed the stack on a 9,000-level chain (500).
  it('walks a chain 50,000 levels deep, deepest first', () => {
    const depth = 50_000;
    const tree = new Map<string, string[]>();
    for (let level = 0; level < depth; level++) tree.set(`d${level}`, [`d${level + 1}`]);
    const order = deletionOrder('d0', tree);
    assert.equal(order.length, depth + 1);
    assert.equal(order[0]?.digest, `d${depth}`);
    assert.equal(order.at(-1)?.digest, 'd0');
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
