// The change journal: an index change is recorded before the request that causes it goes to
// the upstream, and cleared once the upstream's answer is known and applied. Whatever a crash
// leaves here is settled later from what the upstream holds (src/recovery.ts). Recording first
// also means a change is refused while Redis is unreachable, before the upstream is touched.

import type { RedisConnection } from './connection.js';
import type { Descriptor, Referrer } from '../oci/manifest.js';
import { guard } from './guard.js';
import { journalField, pendingKey, pendingRepositoriesKey } from './keys.js';

export type PendingChange =
  | { readonly op: 'add'; readonly repository: string; readonly referrer: Referrer;
    readonly since: number }
  | { readonly op: 'remove'; readonly repository: string; readonly digest: string;
    readonly since: number };

type StoredChange =
  | { op: 'add'; subject: string; descriptor: Descriptor; since: number }
  | { op: 'remove'; digest: string; since: number };

export function changedDigest(change: PendingChange): string {
  return change.op === 'add' ? change.referrer.descriptor.digest : change.digest;
}

export class ChangeJournal {
  constructor(private readonly redis: RedisConnection) {}

  /** The entry is written before the repository is listed: see forgetRepositoryIfSettled. */
  async record(change: PendingChange): Promise<void> {
    const field = journalField(change.op, changedDigest(change));
    const record = JSON.stringify(toStored(change));

    await guard('journal write', async () => {
      await this.redis.hset(pendingKey(change.repository), field, record);
      await this.redis.sadd(pendingRepositoriesKey(), change.repository);
    });
  }

  async clear(repository: string, op: PendingChange['op'], digest: string): Promise<void> {
    await guard('journal write', () =>
      this.redis.hdel(pendingKey(repository), journalField(op, digest)));
  }

  async repositories(): Promise<string[]> {
    return guard('journal read', () => this.redis.smembers(pendingRepositoriesKey()));
  }

  async pending(repository: string): Promise<PendingChange[]> {
    const records = await guard('journal read', () =>
      this.redis.hgetall(pendingKey(repository)));
    return Object.values(records).map((record) => fromStored(repository, record));
  }

  /**
   * Drops a repository from the pending set once its journal is empty. Un-listing first and
   * re-listing when entries remain cannot lose a concurrent record(), which writes its entry
   * before listing the repository.
   */
  async forgetRepositoryIfSettled(repository: string): Promise<void> {
    await guard('journal write', async () => {
      await this.redis.srem(pendingRepositoriesKey(), repository);
      if (await this.redis.hlen(pendingKey(repository)) > 0) {
        await this.redis.sadd(pendingRepositoriesKey(), repository);
      }
    });
  }
}

function toStored(change: PendingChange): StoredChange {
  if (change.op === 'remove') return { op: 'remove', digest: change.digest, since: change.since };
  const { subject, descriptor } = change.referrer;
  return { op: 'add', subject, descriptor, since: change.since };
}

function fromStored(repository: string, record: string): PendingChange {
  const stored = JSON.parse(record) as StoredChange;
  if (stored.op === 'remove') return { ...stored, repository };
  const referrer = { subject: stored.subject, descriptor: stored.descriptor };
  return { op: 'add', repository, referrer, since: stored.since };
}
