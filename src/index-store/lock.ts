// A lock in Redis shared by every proxy process: SET NX with an expiry, released only by its
// holder (compare-and-delete in one script, so a lock that expired and was taken by another
// process is never released by the first).

import { randomUUID } from 'node:crypto';
import type { RedisConnection } from './connection.js';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;

export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the lock if it is free; undefined when another holder has it. */
export async function tryLock(
  redis: RedisConnection,
  key: string,
  expiryMs: number,
): Promise<HeldLock | undefined> {
  const token = randomUUID();
  if (await redis.set(key, token, 'PX', expiryMs, 'NX') !== 'OK') return undefined;
  return {
    async release() {
      await redis.eval(RELEASE, 1, key, token);
    },
  };
}
