// The change journal: an index change is recorded before the request that causes it goes to
// the upstream, and cleared once the upstream's answer is known and applied. Whatever a crash
// leaves here is settled later from what the upstream holds (src/recovery.ts). Recording first
// also means a change is refused while Redis is unreachable, before the upstream is touched.

import { inOrder, type RedisConnection } from './connection.js';
import type { Descriptor, Referrer } from '../oci/manifest.js';
import { guard } from './guard.js';
import type { FieldWrite } from './lock.js';
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
    const { key, field, value } = journalWrite(change);
    await this.recordWith(change.repository, () => this.redis.hset(key, field, value));
  }

  /**
   * Writes an entry with `write` (which may do more in the same step, such as take a lock),
   * then lists the repository, in that order; resolves to what `write` resolved to.
   */
  async recordWith<T>(repository: string, write: () => Promise<T>): Promise<T> {
    const [written] = await guard('journal write', () => inOrder(this.redis, write,
      () => this.redis.sadd(pendingRepositoriesKey(), repository)));
    return written;
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

/** The hash field that records `change`, for writing it together with something else. */
export function journalWrite(change: PendingChange): FieldWrite {
  return { key: pendingKey(change.repository),
    field: journalField(change.op, changedDigest(change)),
    value: JSON.stringify(toStored(change)) };
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
