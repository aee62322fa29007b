// A lock in Redis shared by every proxy process: SET NX with a short expiry that its holder
// renews while it works, released only by its holder (compare-and-delete in one script). A
// holder that crashes stops renewing, so its lock frees itself within one expiry.

import { randomUUID } from 'node:crypto';
import type { RedisConnection } from './connection.js';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

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

  const renewal = setInterval(() => {
    redis.eval(RENEW, 1, key, token, expiryMs).catch(() => undefined);
  }, Math.max(expiryMs / 3, 100));
  renewal.unref();
  return {
    async release() {
      clearInterval(renewal);
      await redis.eval(RELEASE, 1, key, token);
    },
  };
}
