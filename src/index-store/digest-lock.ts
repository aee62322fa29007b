// Pushes and deletes of one manifest digest take turns, across every proxy sharing the Redis
// (design.md invariant 7). Without it, a delete could reach the registry between a push's
// acceptance and its index write, and the push would then index a manifest already gone.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisConnection } from './connection.js';
import { IndexUnavailableError } from '../errors.js';
import { guard } from './guard.js';
import { digestLockKey } from './keys.js';

/** Longer than any upstream manifest request may take (the client's 120 s headers timeout). */
const LOCK_MS = 150_000;
/** How long a request waits for its turn before it is refused with a retryable 503. */
const WAIT_MS = 30_000;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;

export class DigestLocks {
  constructor(private readonly redis: RedisConnection) {}

  async withLock<T>(repository: string, digest: string, work: () => Promise<T>): Promise<T> {
    const key = digestLockKey(repository, digest);
    const token = randomUUID();
    await this.#acquire(key, token);
    try {
      return await work();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }

  async #acquire(key: string, token: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, 500)) {
      const taken = await guard('digest lock', () =>
        this.redis.set(key, token, 'PX', LOCK_MS, 'NX'));
      if (taken === 'OK') return;
      if (Date.now() >= deadline) throw new IndexUnavailableError('digest lock');
      await sleep(pause);
    }
  }
}
