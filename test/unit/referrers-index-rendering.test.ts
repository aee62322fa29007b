import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EMPTY_INDEX_BYTES,
  descriptorsOfIndex,
  PageBudget,
  matchesFilter,
  nextPageLink,
  parseReferrersQuery,
  renderIndex,
  toStoredDescriptor,
} from '../../src/oci/referrers.js';
import { OCI_MANIFEST } from '../../src/oci/media-types.js';

function entry(n: number, artifactType?: string) {
  const digest = `sha256:${n.toString(16).padStart(64, '0')}`;
  return toStoredDescriptor({ mediaType: OCI_MANIFEST, digest, size: 100 + n,
    ...(artifactType === undefined ? {} : { artifactType }) });
}

describe('parseReferrersQuery', () => {
  it('keeps a raw + in artifactType (URLSearchParams would turn it into a space)', () => {
    assert.deepEqual(parseReferrersQuery('artifactType=application/spdx+json').artifactTypes,
      ['application/spdx+json']);
  });

  it('decodes percent-escapes, %2B and %2F included', () => {
    assert.deepEqual(parseReferrersQuery('?artifactType=application%2Fspdx%2Bjson').artifactTypes,
      ['application/spdx+json']);
  });

  it('keeps a broken escape literal instead of failing the request', () => {
    assert.deepEqual(parseReferrersQuery('artifactType=%E0%A4%A').artifactTypes, ['%E0%A4%A']);
  });

  it('reads the pagination cursor and ignores unknown keys and empty values', () => {
    const query = parseReferrersQuery('n=5&artifactType=&last=sha256%3Aabc&x');
    assert.deepEqual(query, { artifactTypes: [], last: 'sha256:abc' });
  });
});

describe('filtering on the derived artifactType', () => {
  it('matches everything without a filter and only equal types with one', () => {
    const sbom = entry(1, 'application/spdx+json');
    const untyped = entry(2);
    const none = parseReferrersQuery('');
    const spdx = parseReferrersQuery('artifactType=application/spdx+json');
    assert.equal(matchesFilter(untyped, none), true);
    assert.equal(matchesFilter(sbom, spdx), true);
    assert.equal(matchesFilter(untyped, spdx), false);
    assert.equal(matchesFilter(entry(3, 'application/spdx'), spdx), false);
  });
});

describe('renderIndex', () => {
  it('always has schemaVersion 2, the index mediaType and a manifests array', () => {
    assert.deepEqual(JSON.parse(renderIndex([])), {
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [],
    });
    assert.equal(renderIndex([]).length, EMPTY_INDEX_BYTES);
  });

  it('lists the stored descriptors verbatim', () => {
    const entries = [entry(1, 'a/b'), entry(2)];
    const index = JSON.parse(renderIndex(entries)) as { manifests: unknown[] };
    assert.deepEqual(index.manifests, entries.map((e) => JSON.parse(e.json)));
  });
});

describe('PageBudget', () => {
  it('admits entries until the next would pass the bound, keeping the page within it', () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(i));
    const size = entries[0]?.json.length ?? 0;
    const bound = EMPTY_INDEX_BYTES + 3 * size + 2;
    const budget = new PageBudget(bound);
    const admitted = entries.filter((e) => !budget.full && budget.admit(e.json.length));

    assert.equal(budget.full, true);
    assert.equal(admitted.length, 3);
    assert.ok(Buffer.byteLength(renderIndex(admitted)) <= bound);
  });

  it('always admits the first entry so that paging advances even past a tiny bound', () => {
    const budget = new PageBudget(10);
    assert.equal(budget.admit(5000), true);
    assert.equal(budget.admit(1), false);
    assert.equal(budget.full, true);
  });
});

describe('nextPageLink', () => {
  it('carries the filter and the cursor, escaped, with rel="next"', () => {
    const query = parseReferrersQuery('artifactType=application/spdx+json');
    const link = nextPageLink('org/app', 'sha256:abc', query, 'sha256:def');
    assert.equal(link, '</v2/org/app/referrers/sha256:abc?artifactType=application%2Fspdx%2Bjson'
      + '&last=sha256%3Adef>; rel="next"');
  });
});

describe('descriptorsOfIndex (reading back a referrers tag)', () => {
  const good = { mediaType: OCI_MANIFEST, digest: `sha256:${'a'.repeat(64)}`, size: 10 };
  const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('keeps only entries shaped like descriptors', () => {
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [good, { ...good, digest: 'nope' }, { ...good, size: -1 }, 'x',
        { ...good, annotations: { a: 1 } }] };
    assert.deepEqual(descriptorsOfIndex(bytes(index))?.map((e) => e.digest), [good.digest]);
  });

  it('refuses bytes that are not an image index at all', () => {
    for (const value of [Buffer.from('not json'), bytes([good]), bytes({ schemaVersion: 1,
      manifests: [] }), bytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, manifests: [] })]) {
      assert.equal(descriptorsOfIndex(value), undefined);
    }
  });
});
