// Scheduled retention: every RETENTION_INTERVAL, one proxy process (whichever takes the lock)
// runs the policies and logs what it deleted and why.

import { RetentionBusyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RetentionReport, RetentionRunner } from './retention.js';

export class RetentionSchedule {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
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
      logReport(this.logger, await this.runner.run({ dryRun: false }));
    } catch (error) {
      if (error instanceof RetentionBusyError) return; // another process runs this round
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
