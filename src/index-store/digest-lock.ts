// Pushes and deletes of one manifest digest take turns, across every proxy sharing the Redis
// (design.md invariant 7). Without it, a delete could reach the registry between a push's
// acceptance and its index write, and the push would then index a manifest already gone.

import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisConnection } from './connection.js';
import { IndexUnavailableError } from '../errors.js';
import { guard } from './guard.js';
import { digestLockKey } from './keys.js';
import { tryLock, type HeldLock } from './lock.js';

/** Renewed while held; a crashed holder's lock frees itself this soon. */
const LOCK_MS = 10_000;
/** How long a request waits for its turn before it is refused with a retryable 503. */
const WAIT_MS = 30_000;

export class DigestLocks {
  constructor(private readonly redis: RedisConnection) {}

  async withLock<T>(repository: string, digest: string, work: () => Promise<T>): Promise<T> {
    const lock = await this.#acquire(digestLockKey(repository, digest));
    try {
      return await work();
    } finally {
      await lock.release().catch(() => undefined); // it expires on its own
    }
  }

  async #acquire(key: string): Promise<HeldLock> {
    const deadline = Date.now() + WAIT_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, 500)) {
      const lock = await guard('digest lock', () => tryLock(this.redis, key, LOCK_MS));
      if (lock !== undefined) return lock;
      if (Date.now() >= deadline) throw new IndexUnavailableError('digest lock');
      await sleep(pause);
    }
  }
}
