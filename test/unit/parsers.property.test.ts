// Property-based tests of the parsers that see untrusted input: for any input they answer
// without throwing (or throw only the domain error they promise), and what they accept obeys
// the spec grammar.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManifestInvalidError } from '../../src/errors.js';
import { isDigest, parseDigest } from '../../src/oci/digest.js';
import { readReferrer } from '../../src/oci/manifest.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/oci/media-types.js';
import { isRepositoryName, isTag, parseReference } from '../../src/oci/name.js';
import { parseReferrersQuery } from '../../src/oci/referrers.js';
import { pinTag, referrersTag } from '../../src/oci/referrers-tag.js';
import { pageTags } from '../../src/oci/tag-list.js';

const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const lowerAlnum = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
  minLength: 1, maxLength: 8 });
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'),
  minLength: length, maxLength: length });
const sha256 = hex(64).map((encoded) => `sha256:${encoded}`);
const repositoryName = fc.array(fc.tuple(lowerAlnum, fc.array(fc.tuple(
  fc.constantFrom('.', '_', '__', '-', '--'), lowerAlnum), { maxLength: 2 })),
{ minLength: 1, maxLength: 4 }).map((components) => components.map(([head, rest]) =>
  head + rest.map(([separator, part]) => separator + part).join('')).join('/'))
  .filter((name) => name.length <= 255);
const runs = { numRuns: 500 };

describe('digest parser', () => {
  it('never throws, and accepts only what the grammar allows', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      const parsed = parseDigest(text);
      if (parsed !== undefined) assert.match(text, DIGEST_GRAMMAR);
    }), runs);
  });

  it('accepts every sha256 digest and keeps its parts', () => {
    fc.assert(fc.property(sha256, (digest) => {
      assert.deepEqual(parseDigest(digest), { algorithm: 'sha256', encoded: digest.slice(7) });
    }), runs);
  });
});

describe('repository names and references', () => {
  it('accept every name the grammar generates', () => {
    fc.assert(fc.property(repositoryName, (name) => assert.ok(isRepositoryName(name), name)),
      runs);
  });

  it('refuse names with characters outside the grammar', () => {
    const bad = fc.tuple(repositoryName, fc.constantFrom('A', '%', '..', ' ', '//', ':', '\u00e9'))
      .map(([name, junk]) => `${name}${junk}x`);
    fc.assert(fc.property(bad, (name) => assert.equal(isRepositoryName(name), false, name)),
      runs);
  });

  it('tell tags and digests apart for any string, never both', () => {
    fc.assert(fc.property(fc.string({ maxLength: 150 }), (text) => {
      const reference = parseReference(text);
      if (reference?.kind === 'tag') assert.ok(isTag(text) && !isDigest(text));
      if (reference?.kind === 'digest') assert.ok(isDigest(text));
    }), runs);
  });
});

describe('referrers tag names', () => {
  it('are valid tags for every digest the grammar allows', () => {
    const digest = fc.string({ maxLength: 200 }).filter((text) => isDigest(text));
    fc.assert(fc.property(fc.oneof(sha256, digest), (value) => {
      assert.ok(isTag(referrersTag(value)), referrersTag(value));
      assert.ok(isTag(pinTag(value)), pinTag(value));
    }), runs);
  });
});

describe('manifest reader', () => {
  const contentType = fc.constantFrom(OCI_MANIFEST, OCI_INDEX, undefined, 'application/json',
    `${OCI_MANIFEST}; charset=utf-8`);

  it('on any bytes, answers or throws ManifestInvalidError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), contentType, (bytes, type) => {
      try {
        readReferrer(bytes, type, `sha256:${'a'.repeat(64)}`);
      } catch (error) {
        assert.ok(error instanceof ManifestInvalidError, String(error));
      }
    }), runs);
  });

  it('on any JSON, and a referrer it accepts has a well-formed subject', () => {
    const subjectish = fc.oneof(fc.jsonValue(), fc.record({ mediaType: fc.string(),
      digest: fc.oneof(sha256, fc.string()), size: fc.oneof(fc.integer(), fc.double()) }));
    const manifest = fc.record({ schemaVersion: fc.constantFrom(2, 1, '2'),
      subject: subjectish, artifactType: fc.oneof(fc.string(), fc.jsonValue()),
      annotations: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()) },
    { requiredKeys: [] });
    fc.assert(fc.property(manifest, contentType, (json, type) => {
      try {
        const referrer = readReferrer(Buffer.from(JSON.stringify(json)), type,
          `sha256:${'b'.repeat(64)}`);
        if (referrer !== undefined) assert.ok(isDigest(referrer.subject));
      } catch (error) {
        assert.ok(error instanceof ManifestInvalidError, String(error));
      }
    }), runs);
  });
});

describe('query parsers', () => {
  it('read any referrers query string without throwing', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (search) => {
      const query = parseReferrersQuery(search);
      assert.ok(query.artifactTypes.every((type) => type !== ''));
    }), runs);
  });

  it('page any tag list in order, after last, at most n', () => {
    const n = fc.option(fc.nat({ max: 20 }), { nil: undefined });
    const last = fc.option(fc.string({ maxLength: 5 }), { nil: undefined });
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 5 })), n, last, (tags, count, after) => {
      const page = pageTags(tags, { n: count, last: after });
      assert.deepEqual([...page.tags], [...page.tags].sort());
      assert.ok(count === undefined || page.tags.length <= count);
      assert.ok(after === undefined || page.tags.every((tag) => tag > after));
      assert.ok(page.tags.every((tag) => tags.includes(tag)));
    }), runs);
  });
});
