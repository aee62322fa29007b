// Wiring: Redis, the upstream client, the pass-through and the Koa app on one HTTP server,
// behind the front handler that streams plain pass-through traffic itself.

import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describeConfig, type Config } from './config.js';
import { AccessCache } from './http/access-cache.js';
import { createApp } from './http/app.js';
import {
  answerClientError, answerConnect, answerExpectation,
} from './http/client-errors.js';
import { frontHandler } from './http/front.js';
import { openRedis, type RedisConnection } from './index-store/connection.js';
import { DigestLocks } from './index-store/digest-lock.js';
import { ChangeJournal } from './index-store/journal.js';
import { ReferrersIndex } from './index-store/referrers-index.js';
import { createLogger, type Logger } from './log.js';
import { UpstreamClient, type HeaderMap, type UpstreamResponse } from './upstream/client.js';
import { PassThrough } from './upstream/passthrough.js';
import { PendingRecovery, type RecoveryOptions } from './recovery.js';
import { MirrorWorker, type MirrorOptions } from './mirror.js';
import { AutoReindex } from './auto-reindex.js';
import { Reindexer } from './reindex.js';
import { NotificationHandler } from './notifications.js';
import { OwnUpstream } from './upstream/own-credentials.js';
import { ManifestDeleter } from './lifecycle/manifest-delete.js';
import { TagLockStore } from './lifecycle/tag-lock-store.js';
import { RetentionRunner } from './lifecycle/retention.js';
import { RetentionSchedule } from './lifecycle/retention-schedule.js';

const SHUTDOWN_GRACE_MS = 10_000;

/**
 * A journal entry older than the upstream client's headers timeout (120 s) belongs to a push
 * that has finished or died; only then is it safe to settle from what the upstream holds.
 */
const RECOVERY: RecoveryOptions = { settleAfterMs: 180_000, intervalMs: 30_000 };

/** One EXISTS this often finds an index lost without a disconnect (FLUSHALL). */
const EMPTY_INDEX_CHECK_MS = 30_000;

/** Bounds the access cache: about 100 bytes an entry. */
const ACCESS_CACHE_ENTRIES = 10_000;

/** A burst of pushes for one subject within 200 ms is mirrored once. */
const MIRROR = { intervalMs: 10_000, debounceMs: 200 };

export interface RunningServer {
  /** Base URL the server answers on, e.g. http://127.0.0.1:5000 */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly logger?: Logger;
  /** Timing of pending-push recovery; tests shorten it. */
  readonly recovery?: RecoveryOptions;
  /** Timing of the mirror worker; tests shorten it. */
  readonly mirror?: Pick<MirrorOptions, 'intervalMs' | 'debounceMs'>;
  /** How often an empty index is looked for besides reconnects; tests shorten it. */
  readonly emptyIndexCheckMs?: number;
  /** Replaces RETENTION_INTERVAL (when that is set) with a shorter one; tests use it. */
  readonly retentionIntervalMs?: number;
}

export async function startServer(
  config: Config,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const redis = await connectRedis(config, logger);
  const upstream = new UpstreamClient(config.upstream, config.upstreamCa);
  const passThrough = new PassThrough(config.upstream, config.upstreamCa);

  // A popular subject's page is then a token check in Redis, not megabytes (page-cache.ts).
  const index = new ReferrersIndex(redis, { pageCacheBytes: config.referrersCacheBytes });
  const journal = new ChangeJournal(redis);
  const own = new OwnUpstream(upstream, config.upstreamCredentials, config.upstreamCa);
  const locks = new DigestLocks(redis);
  const recovery = new PendingRecovery(index, journal, locks, own, logger,
    options.recovery ?? RECOVERY);
  const mirror = new MirrorWorker(redis, index, locks, own, logger, {
    mirror: config.mirror, pins: config.pinReferrers, ...(options.mirror ?? MIRROR),
  });
  const autoReindex = new AutoReindex(redis, new Reindexer(index, own), logger,
    () => mirror.kick());
  redis.on('ready', () => autoReindex.check());
  if (redis.status === 'ready') autoReindex.check();
  autoReindex.start(options.emptyIndexCheckMs ?? EMPTY_INDEX_CHECK_MS);
  recovery.start();
  mirror.start();
  const notifications = new NotificationHandler(index, locks, own, () => mirror.kick());
  const accessCache = new AccessCache(config.accessCacheMs, ACCESS_CACHE_ENTRIES);
  const { deleter, tagLocks, retention } = buildLifecycle(config, redis, index, journal, locks,
    mirror, own, logger);
  const schedule = config.retentionIntervalMs === undefined
    ? undefined
    : new RetentionSchedule(retention, logger,
      options.retentionIntervalMs ?? config.retentionIntervalMs);
  schedule?.start();
  const app = createApp({ config, index, journal, locks, mirror, notifications, accessCache,
    upstream, passThrough, deleter, tagLocks, retention }, logger);
  const handler = frontHandler({ passThrough, blobRedirect: config.blobRedirect, logger },
    app.callback());
  // No request timeout: a 10 GiB layer upload may take hours (Node's default cuts at 300 s).
  const timeouts = { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 };
  const server = config.tls === undefined
    ? createServer(timeouts, handler)
    : createHttpsServer({ ...timeouts, cert: config.tls.cert, key: config.tls.key }, handler);
  server.on('clientError', answerClientError(logger));
  server.on('connect', answerConnect(logger));
  server.on('checkExpectation', answerExpectation(logger));
  await listen(server, config.listenHost, config.listenPort);

  const url = serverUrl(server, config.tls === undefined ? 'http' : 'https');
  logger.info({ settings: describeConfig(config), url }, 'referrers-proxy started');
  const close = async (): Promise<void> => {
    await schedule?.stop();
    await autoReindex.stop();
    await recovery.stop();
    await mirror.stop();
    await shutdown(server, redis, upstream, passThrough);
  };
  return { url, server, close };
}

/** Cascading deletes, tag locks and retention, for the server and the retention command. */
export function buildLifecycle(
  config: Config,
  redis: RedisConnection,
  index: ReferrersIndex,
  journal: ChangeJournal,
  locks: DigestLocks,
  mirror: { kick(): void },
  own: OwnUpstream,
  logger: Logger,
): { deleter: ManifestDeleter; tagLocks: TagLockStore; retention: RetentionRunner } {
  const deleter = new ManifestDeleter(index, journal, locks, mirror);
  const tagLocks = new TagLockStore(redis, config.policy.tagLocks);
  const request = (method: string, path: string, headers: HeaderMap): Promise<UpstreamResponse> =>
    own.send(method, path, headers);
  const retention = new RetentionRunner(redis, index, request, config.upstream.origin, deleter,
    tagLocks, config.policy.retention, config.cascadeDelete, logger);
  return { deleter, tagLocks, retention };
}

async function connectRedis(config: Config, logger: Logger): Promise<RedisConnection> {
  const redis = openRedis(config.redisUrl, { cluster: config.redisCluster, failFast: true });
  reportRedisState(redis, logger);

  try {
    await redis.connect();
  } catch (error) {
    logger.warn({ err: error }, 'redis not reachable at start; retrying in the background');
  }
  return redis;
}

/** Logs when Redis goes away and comes back, once each, not on every failed retry. */
function reportRedisState(redis: RedisConnection, logger: Logger): void {
  let up = false;
  redis.on('ready', () => {
    up = true;
    logger.info('redis connected');
  });
  redis.on('error', (error: Error & { code?: string }) => {
    if (!up) return;
    up = false;
    // Message and code only: ioredis errors can carry the AUTH command and its password.
    logger.warn({ err: { message: error.message, code: error.code } }, 'redis connection lost');
  });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function serverUrl(server: Server, scheme: 'http' | 'https'): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

async function shutdown(
  server: Server,
  redis: RedisConnection,
  upstream: UpstreamClient,
  passThrough: PassThrough,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Transfers still running after the grace period are cut rather than holding the exit.
  const cutoff = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await closed;
  clearTimeout(cutoff);

  passThrough.close();
  await upstream.close();
  redis.disconnect();
}
