// The digest lock taken together with the journal entry of a push, against a real
// redis-server: both or neither, the repository listed for recovery before the work runs,
// and pushes of one digest still taking turns (design.md invariants 2 and 7).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { DigestLocks } from '../../src/index-store/digest-lock.js';
import { ChangeJournal, journalWrite, type PendingChange } from '../../src/index-store/journal.js';
import {
  digestLockKey, pendingKey, pendingRepositoriesKey,
} from '../../src/index-store/keys.js';
import { tryLock, tryLockAndWrite } from '../../src/index-store/lock.js';
import { fakeDigest } from '../support/index-fixtures.js';
import { startRedis, type RedisServer } from '../support/redis.js';

let server: RedisServer;
let redis: Redis;

before(async () => {
  server = await startRedis({ appendonly: false });
  redis = new Redis(server.url);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

function push(repository: string, n: number): PendingChange {
  return { op: 'add', repository, since: Date.now(), referrer: { subject: fakeDigest(0),
    descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: fakeDigest(n), size: 100 } } };
}

describe('tryLockAndWrite', () => {
  it('writes the field only when it takes the lock', async () => {
    const write = journalWrite(push('lock/both', 1));
    const key = digestLockKey('lock/both', fakeDigest(1));
    const other = await tryLock(redis, key, 10_000);
    assert.ok(other !== undefined);

    assert.equal(await tryLockAndWrite(redis, key, 10_000, write), undefined);
    assert.equal(await redis.hget(write.key, write.field), null);
    await other.release();
    const mine = await tryLockAndWrite(redis, key, 10_000, write);
    assert.ok(mine !== undefined);
    assert.equal(await redis.hget(write.key, write.field), write.value);
    await mine.release();
  });
});

describe('DigestLocks.withJournalledLock', () => {
  const locks = () => new DigestLocks(redis);
  const journal = () => new ChangeJournal(redis);

  it('holds the lock, the journal entry and the listing while the work runs', async () => {
    const change = push('lock/journal', 2);
    const { key, field } = journalWrite(change);
    await locks().withJournalledLock(journal(), change, async () => {
      assert.notEqual(await redis.get(digestLockKey('lock/journal', fakeDigest(2))), null);
      assert.ok(await redis.hexists(key, field));
      assert.ok(await redis.sismember(pendingRepositoriesKey(), 'lock/journal'));
    });
    assert.equal(await redis.hlen(pendingKey('lock/journal')), 1, 'the work clears it, not us');
  });

  it('lets pushes of one digest take turns, through separate lock holders', async () => {
    const order: string[] = [];
    const run = (name: string) => locks().withJournalledLock(journal(), push('lock/turns', 3),
      async () => {
        order.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push(`${name} out`);
      });
    await Promise.all([run('a'), run('b'), run('c')]);
    for (let n = 0; n < order.length; n += 2) {
      assert.equal(order[n]?.split(' ')[0], order[n + 1]?.split(' ')[0], order.join(', '));
    }
  });
});

// Regression: a push held its lock through a Redis outage longer than the lock's expiry,
// another proxy deleted the digest meanwhile, and the push then indexed a manifest already gone
// (invariant 7). The holder now knows when the lock may no longer be its own.
describe('a held lock', () => {
  it('stays intact while its renewals succeed', async () => {
    const lock = await tryLock(redis, 'rp:test:intact', 300);
    assert.ok(lock !== undefined);
    await sleep(700);
    assert.equal(lock.intact(), true);
    await lock.release();
  });

  it('is no longer intact once another holder has the key', async () => {
    const lock = await tryLock(redis, 'rp:test:taken', 300);
    assert.ok(lock !== undefined);
    await redis.set('rp:test:taken', 'someone-else', 'PX', 10_000); // as after a data loss
    await sleep(300);
    assert.equal(lock.intact(), false);
    await lock.release();
    assert.equal(await redis.get('rp:test:taken'), 'someone-else', 'never frees another\'s');
  });

  it('is no longer intact while Redis cannot be reached', async () => {
    const lonely = await startRedis({ appendonly: false });
    const client = new Redis(lonely.url, { maxRetriesPerRequest: 0 });
    try {
      const lock = await tryLock(client, 'rp:test:outage', 300);
      assert.ok(lock !== undefined);
      lonely.kill('SIGKILL');
      await sleep(400);
      assert.equal(lock.intact(), false);
    } finally {
      client.disconnect();
      await lonely.stop();
    }
  });
});
