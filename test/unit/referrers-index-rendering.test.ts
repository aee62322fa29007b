import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPageReply } from '../../src/index-store/page-script.js';
import {
  EMPTY_INDEX_BYTES,
  descriptorsOfIndex,
  joinEntries,
  matchesFilter,
  nextPageLink,
  parseReferrersQuery,
  renderIndex,
  renderIndexBytes,
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

describe('joinEntries and renderIndexBytes', () => {
  const json = (n: number) => Buffer.from(entry(n).json);

  it('join pieces read in several steps into one comma-separated run', () => {
    const pieces = [Buffer.concat([json(1), Buffer.from(','), json(2)]), json(3)];
    const index = JSON.parse(renderIndexBytes(joinEntries(pieces)).toString()) as
      { manifests: { digest: string }[] };
    assert.deepEqual(index.manifests.map((m) => m.digest), [1, 2, 3].map((n) => entry(n).digest));
  });

  it('render the same bytes as renderIndex, the empty index included', () => {
    const entries = [entry(1, 'a/b'), entry(2)];
    const joined = joinEntries(entries.map((e) => Buffer.from(e.json)));
    assert.equal(renderIndexBytes(joined).toString(), renderIndex(entries));
    assert.equal(renderIndexBytes(joinEntries([])).toString(), renderIndex([]));
    assert.equal(renderIndexBytes(joinEntries([])).length, EMPTY_INDEX_BYTES);
  });
});

describe('readPageReply (the page script reply)', () => {
  const reply = (state: string, version = 'tok.1') => [Buffer.from(state),
    Buffer.from('sha256:a'), Buffer.from(''), 120, 1, Buffer.from('{}'), Buffer.from(version)];

  it('reads a well-formed reply, an empty digest or version meaning none', () => {
    assert.deepEqual(readPageReply(reply('more')), { state: 'more', lastScanned: 'sha256:a',
      lastAdmitted: undefined, usedBytes: 120, count: 1, json: Buffer.from('{}'),
      version: 'tok.1' });
    assert.equal(readPageReply(reply('same', '')).version, undefined);
  });

  it('refuses anything else as a fault', () => {
    for (const bad of [null, 'x', reply('done'), reply('end').slice(1),
      [...reply('end').slice(0, 3), '120', 1, Buffer.from(''), Buffer.from('')]]) {
      assert.throws(() => readPageReply(bad), /page script/);
    }
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
