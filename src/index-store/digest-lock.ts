// Pushes and deletes of one manifest digest take turns, across every proxy sharing the Redis
// (design.md invariant 7). Without it, a delete could reach the registry between a push's
// acceptance and its index write, and the push would then index a manifest already gone.

import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisConnection } from './connection.js';
import { IndexUnavailableError } from '../errors.js';
import { guard } from './guard.js';
import { digestLockKey } from './keys.js';
import {
  changedDigest, journalWrite, type ChangeJournal, type PendingChange,
} from './journal.js';
import { tryLock, tryLockAndWrite, type HeldLock } from './lock.js';

/** Renewed while held; a crashed holder's lock frees itself this soon. */
const LOCK_MS = 10_000;
/** How long a request waits for its turn before it is refused with a retryable 503. */
const WAIT_MS = 30_000;
/**
 * Longest pause between tries. A turn lasts about one registry round trip, so a waiter that
 * slept much longer would leave the lock idle while others queue.
 */
const MAX_PAUSE_MS = 100;

type Attempt = () => Promise<HeldLock | undefined>;

/** Work done holding the lock; it may ask the lock whether it still certainly holds it. */
export type Work<T> = (lock: Pick<HeldLock, 'intact'>) => Promise<T>;

export class DigestLocks {
  constructor(private readonly redis: RedisConnection) {}

  async withLock<T>(repository: string, digest: string, work: Work<T>): Promise<T> {
    const key = digestLockKey(repository, digest);
    return this.#holding(() => guard('digest lock', () => tryLock(this.redis, key, LOCK_MS)),
      work);
  }

  /**
   * withLock that journals `change` in the step that takes the lock, so the entry exists from
   * the moment the lock is held (one round trip on a single Redis instead of three). The
   * entry is stamped at each attempt: a push waiting for its turn does not age its entry.
   */
  async withJournalledLock<T>(
    journal: ChangeJournal,
    change: PendingChange,
    work: Work<T>,
  ): Promise<T> {
    const key = digestLockKey(change.repository, changedDigest(change));
    const attempt = () => journal.recordWith(change.repository, () => tryLockAndWrite(
      this.redis, key, LOCK_MS, journalWrite({ ...change, since: Date.now() })));
    return this.#holding(attempt, work);
  }

  async #holding<T>(attempt: Attempt, work: Work<T>): Promise<T> {
    const lock = await this.#acquire(attempt);
    try {
      return await work(lock);
    } finally {
      // Not awaited: the answer need not wait for it, and it expires on its own if lost.
      lock.release().catch(() => undefined);
    }
  }

  async #acquire(attempt: Attempt): Promise<HeldLock> {
    const deadline = Date.now() + WAIT_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      const lock = await attempt();
      if (lock !== undefined) return lock;
      if (Date.now() >= deadline) throw new IndexUnavailableError('digest lock');
      await sleep(pause);
    }
  }
}
