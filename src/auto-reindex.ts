// An index found empty (Redis lost its data, or this is a first start in front of a registry
// that already holds referrers) is rebuilt from the registry without being asked. Checked each
// time Redis becomes ready, so a Redis that restarts without persistence is caught too, and
// every interval, so data lost without a disconnect (FLUSHALL, a failover to an empty
// replica) is caught as well.

import type { RedisConnection } from './index-store/connection.js';
import { initializedKey, reindexLockKey } from './index-store/keys.js';
import { tryLock } from './index-store/lock.js';
import type { Logger } from './log.js';
import type { Reindexer } from './reindex.js';

/** Renewed while the rebuild runs; another process takes over this soon after a crash. */
const LOCK_MS = 30_000;

export class AutoReindex {
  #running: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  readonly #abort = new AbortController();

  constructor(
    private readonly redis: RedisConnection,
    private readonly reindexer: Reindexer,
    private readonly logger: Logger,
    private readonly onDone: () => void,
  ) {}

  /** Call when Redis becomes ready; starts a rebuild in the background if one is needed. */
  check(): void {
    this.#running = this.#running.then(() => this.#rebuildIfEmpty()).catch((error: unknown) => {
      if (this.#abort.signal.aborted) return; // stopped for shutdown: the next start resumes
      this.logger.warn({ err: error }, 'automatic index rebuild failed; will retry on reconnect');
    });
  }

  /** Checks every `intervalMs` as well as on each reconnect. */
  start(intervalMs: number): void {
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  /** Resolves when a rebuild started by check() has finished. */
  settled(): Promise<void> {
    return this.#running;
  }

  /** Stops a running rebuild between manifests; the next start begins it again. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#abort.abort();
    await this.#running;
  }

  async #rebuildIfEmpty(): Promise<void> {
    if (this.#abort.signal.aborted || await this.redis.exists(initializedKey()) === 1) return;
    const lock = await tryLock(this.redis, reindexLockKey(), LOCK_MS);
    if (lock === undefined) return;

    try {
      this.logger.warn('referrers index is empty: rebuilding it from the registry');
      const report = await this.reindexer.run({ signal: this.#abort.signal });
      await this.redis.set(initializedKey(), new Date().toISOString());
      this.logger.info({ reindex: report }, 'referrers index rebuilt');
      this.onDone();
    } finally {
      await lock.release();
    }
  }
}
