// A lock in Redis shared by every proxy process: SET NX with a short expiry that its holder
// renews while it works, released only by its holder (compare-and-delete in one script). A
// holder that crashes stops renewing, so its lock frees itself within one expiry.

import { randomUUID } from 'node:crypto';
import type { RedisConnection } from './connection.js';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Takes the lock and, only if it got it, sets one hash field: both or neither. */
const LOCK_AND_HSET = `if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('hset', KEYS[2], ARGV[3], ARGV[4]) return 1 end return 0`;

/** A hash field written in the same step that takes a lock (same hash slot as the lock). */
export interface FieldWrite {
  readonly key: string;
  readonly field: string;
  readonly value: string;
}

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
  return held(redis, key, token, expiryMs);
}

/** tryLock that also writes `write` when, and only when, it takes the lock: one round trip. */
export async function tryLockAndWrite(
  redis: RedisConnection,
  key: string,
  expiryMs: number,
  write: FieldWrite,
): Promise<HeldLock | undefined> {
  const token = randomUUID();
  const taken = await redis.eval(LOCK_AND_HSET, 2, key, write.key, token, expiryMs, write.field,
    write.value);
  return taken === 1 ? held(redis, key, token, expiryMs) : undefined;
}

function held(redis: RedisConnection, key: string, token: string, expiryMs: number): HeldLock {
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
