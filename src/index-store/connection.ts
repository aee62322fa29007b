// One Redis connection for the index, a single server or a Redis Cluster. Every key of a
// repository shares a hash slot (keys.ts), so the transactions the index runs work on both.

import { Cluster, Redis } from 'ioredis';

/** The commands the index uses exist on both; callers need not know which they hold. */
export type RedisConnection = Redis | Cluster;

export interface ConnectionOptions {
  readonly cluster: boolean;
  /** Fail fast while Redis is away, so requests get a retryable 503 at once. */
  readonly failFast: boolean;
}

export function openRedis(url: string, options: ConnectionOptions): RedisConnection {
  const common = {
    lazyConnect: true,
    enableOfflineQueue: !options.failFast,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  };
  const perNode = { maxRetriesPerRequest: 1, commandTimeout: 5000 };
  if (!options.cluster) return new Redis(url, { ...common, ...perNode });

  // The URL names one seed node; the cluster tells the client about the others.
  const seed = new URL(url);
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    ...common,
    clusterRetryStrategy: common.retryStrategy,
    redisOptions: {
      ...perNode,
      ...(seed.username === '' ? {} : { username: decodeURIComponent(seed.username) }),
      ...(seed.password === '' ? {} : { password: decodeURIComponent(seed.password) }),
      ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}

/**
 * Runs `first` then `second`, where `second` must not take effect before `first`. On a single
 * server both go down one connection, which Redis answers in order, so `second` is sent
 * without waiting: one round trip. On a cluster their keys may live on different nodes, so
 * it waits. If `first` fails, `second` may still have run: callers pick pairs where that is
 * harmless.
 */
export async function inOrder<A, B>(
  redis: RedisConnection,
  first: () => Promise<A>,
  second: () => Promise<B>,
): Promise<[A, B]> {
  if (redis.isCluster) {
    const a = await first();
    return [a, await second()];
  }
  return Promise.all([first(), second()]);
}
