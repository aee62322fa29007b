// Referrers pages read by the Lua page script against a real redis-server: the size bound,
// the filter, the cursor, walks longer than one script call, and a Redis that forgot the
// script (docs/architecture.md "Pagination").

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { SCAN_PER_CALL } from '../../src/index-store/page-script.js';
import { ReferrersIndex } from '../../src/index-store/referrers-index.js';
import { EMPTY_INDEX_BYTES } from '../../src/oci/referrers.js';
import {
  fakeDigest, indexFakeReferrers, readAllPages, readPage,
} from '../support/index-fixtures.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const SUBJECT = fakeDigest(999_999_999);

let server: RedisServer;
let redis: Redis;
let index: ReferrersIndex;

before(async () => {
  server = await startRedis({ appendonly: false });
  redis = new Redis(server.url);
  index = new ReferrersIndex(redis);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

describe('the page script', () => {
  it('splits a list into pages within the bound that list every referrer once, in order',
    async () => {
      await indexFakeReferrers(redis, 'script/bound', SUBJECT, 50, () => 'a/sig');
      const bound = 2048;
      const pages = await readAllPages(index, 'script/bound', SUBJECT, [], bound);

      assert.ok(pages.length > 3, `${pages.length} pages`);
      for (const page of pages) assert.ok(page.bytes <= bound, `page of ${page.bytes} bytes`);
      const expected = Array.from({ length: 50 }, (_, n) => fakeDigest(n));
      assert.deepEqual(pages.flatMap((page) => page.digests), expected);
      // Each page is as full as the bound allows: the next entry would not have fit.
      const first = pages[0];
      assert.ok(first !== undefined && first.bytes + 150 > bound);
    });

  it('always sends the first entry, however small the bound, so paging advances', async () => {
    await indexFakeReferrers(redis, 'script/tiny', SUBJECT, 3, () => 'a/sig');
    const pages = await readAllPages(index, 'script/tiny', SUBJECT, [], EMPTY_INDEX_BYTES);
    assert.deepEqual(pages.map((page) => page.digests.length), [1, 1, 1]);
  });

  it('keeps only the filtered types, and starts strictly after the cursor', async () => {
    await indexFakeReferrers(redis, 'script/filter', SUBJECT, 20,
      (n) => (n % 3 === 0 ? 'a/sbom' : 'a/sig'));
    const page = await readPage(index, 'script/filter', SUBJECT,
      { artifactTypes: ['a/sbom'], last: fakeDigest(6) }, 1 << 20);
    assert.deepEqual(page.digests, [9, 12, 15, 18].map(fakeDigest));
    assert.equal(page.continueAfter, undefined);
  });

  it('finds rare types across more digests than one script call scans', async () => {
    const count = SCAN_PER_CALL + 10;
    const rare = new Set([3, SCAN_PER_CALL - 1, SCAN_PER_CALL, count - 1]);
    await indexFakeReferrers(redis, 'script/rare', SUBJECT, count,
      (n) => (rare.has(n) ? 'a/rare' : 'a/sig'));

    const page = await readPage(index, 'script/rare', SUBJECT, { artifactTypes: ['a/rare'] },
      1 << 20);
    assert.deepEqual(page.digests, [...rare].map(fakeDigest));
    const whole = await readAllPages(index, 'script/rare', SUBJECT, [], 4 << 20);
    assert.equal(whole.flatMap((p) => p.digests).length, count);
  });

  it('answers for an unknown subject, and after Redis forgot the script', async () => {
    assert.deepEqual((await readPage(index, 'script/none', SUBJECT, { artifactTypes: [] },
      4096)).digests, []);
    await indexFakeReferrers(redis, 'script/flush', SUBJECT, 2, () => 'a/sig');
    await redis.script('FLUSH');
    const page = await readPage(index, 'script/flush', SUBJECT, { artifactTypes: [] }, 4096);
    assert.deepEqual(page.digests, [fakeDigest(0), fakeDigest(1)]);
  });
});

describe('pages kept by a process', () => {
  // Two indexes on one Redis stand for two proxy processes.
  const cached = () => new ReferrersIndex(redis, { pageCacheBytes: 1 << 20 });
  const everything = { artifactTypes: [] };

  it('are served again while unchanged, and never after another process changed the list',
    async () => {
      const [reader, writer] = [cached(), cached()];
      const all = Array.from({ length: 200 }, (_, n) => fakeDigest(n));
      await indexFakeReferrers(redis, 'cache/change', SUBJECT, 200, () => 'a/sig');
      const first = await readPage(reader, 'cache/change', SUBJECT, everything, 1 << 20);
      assert.deepEqual(first.digests, all);
      const before = await redisOutputBytes();
      assert.deepEqual(await readPage(reader, 'cache/change', SUBJECT, everything, 1 << 20),
        first);
      const sent = await redisOutputBytes() - before;
      assert.ok(sent < first.bytes / 4, `Redis sent ${sent} bytes for a page it had confirmed`);

      await writer.remove('cache/change', fakeDigest(1));
      assert.deepEqual((await readPage(reader, 'cache/change', SUBJECT, everything, 1 << 20))
        .digests, all.filter((digest) => digest !== fakeDigest(1)));
      await indexFakeReferrers(redis, 'cache/change', SUBJECT, 2, () => 'a/sig');
      assert.deepEqual((await readPage(reader, 'cache/change', SUBJECT, everything, 1 << 20))
        .digests, all);
    });

  it('are not served after Redis lost its data', async () => {
    const reader = cached();
    await indexFakeReferrers(redis, 'cache/lost', SUBJECT, 2, () => 'a/sig');
    assert.equal((await readPage(reader, 'cache/lost', SUBJECT, everything, 4096)).digests
      .length, 2);
    await redis.flushall();
    await indexFakeReferrers(redis, 'cache/lost', SUBJECT, 1, () => 'a/sig');
    assert.deepEqual((await readPage(reader, 'cache/lost', SUBJECT, everything, 4096)).digests,
      [fakeDigest(0)]);
  });
});

async function redisOutputBytes(): Promise<number> {
  const stats = await redis.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(stats)?.[1]);
}
