// Scheduled retention: every RETENTION_INTERVAL, one proxy process (whichever takes the lock)
// runs the policies and logs what it deleted and why.

import type { RedisConnection } from '../index-store/connection.js';
import { retentionLockKey } from '../index-store/keys.js';
import { tryLock } from '../index-store/lock.js';
import type { Logger } from '../log.js';
import type { RetentionReport, RetentionRunner } from './retention.js';

/** Renewed while the run lasts; a crashed runner's lock frees itself this soon. */
const LOCK_MS = 60_000;

export class RetentionSchedule {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly runner: RetentionRunner,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.#runOnce().finally(() => {
        this.#running = undefined;
      });
    }, this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #runOnce(): Promise<void> {
    try {
      const lock = await tryLock(this.redis, retentionLockKey(), LOCK_MS);
      if (lock === undefined) return; // another process runs it
      try {
        logReport(this.logger, await this.runner.run({ dryRun: false }));
      } finally {
        await lock.release().catch(() => undefined);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'retention run failed; next run at the next interval');
    }
  }
}

export function logReport(logger: Logger, report: RetentionReport): void {
  for (const entry of report.deleted) logger.info({ retention: entry }, 'retention deleted');
  for (const entry of report.skipped) logger.info({ retention: entry }, 'retention kept');
  for (const failure of report.failed) logger.warn({ retention: failure }, 'retention failed');
  logger.info({ repositories: report.repositories, examined: report.examined,
    deleted: report.deleted.length, skipped: report.skipped.length,
    failed: report.failed.length }, 'retention run finished');
}
