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
  /**
   * True while the lock is certainly still ours: every renewal so far succeeded and the last
   * one (or the taking) is less than half an expiry old, so the key outlives this moment by
   * at least half an expiry. False once a renewal failed (Redis unreachable, the key gone or
   * someone else's): after an outage longer than the expiry, another process may hold it.
   */
  intact(): boolean;
}

/** Takes the lock if it is free; undefined when another holder has it. */
export async function tryLock(
  redis: RedisConnection,
  key: string,
  expiryMs: number,
): Promise<HeldLock | undefined> {
  const token = randomUUID();
  const sentAt = Date.now();
  if (await redis.set(key, token, 'PX', expiryMs, 'NX') !== 'OK') return undefined;
  return held(redis, { key, token, expiryMs, sentAt });
}

/** tryLock that also writes `write` when, and only when, it takes the lock: one round trip. */
export async function tryLockAndWrite(
  redis: RedisConnection,
  key: string,
  expiryMs: number,
  write: FieldWrite,
): Promise<HeldLock | undefined> {
  const token = randomUUID();
  const sentAt = Date.now();
  const taken = await redis.eval(LOCK_AND_HSET, 2, key, write.key, token, expiryMs, write.field,
    write.value);
  return taken === 1 ? held(redis, { key, token, expiryMs, sentAt }) : undefined;
}

interface Taken {
  readonly key: string;
  readonly token: string;
  readonly expiryMs: number;
  /** When the taking command was sent: the expiry runs from no earlier than this. */
  readonly sentAt: number;
}

function held(redis: RedisConnection, { key, token, expiryMs, sentAt }: Taken): HeldLock {
  let confirmedAt = sentAt;
  let failed = false;
  const renewal = setInterval(() => {
    const sentAt = Date.now();
    redis.eval(RENEW, 1, key, token, expiryMs).then((renewed) => {
      if (renewed === 1) confirmedAt = sentAt;
      else failed = true;
    }, () => {
      failed = true;
    });
  }, Math.max(expiryMs / 3, 100));
  renewal.unref();
  return {
    async release() {
      clearInterval(renewal);
      await redis.eval(RELEASE, 1, key, token);
    },
    intact: () => !failed && Date.now() - confirmedAt < expiryMs / 2,
  };
}
