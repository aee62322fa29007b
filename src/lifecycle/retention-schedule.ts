// Scheduled retention: every RETENTION_INTERVAL (the first round one interval after start),
// one proxy process (whichever takes the turn) runs the policies; the runner logs the report.

import { RetentionBusyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RetentionRunner } from './retention.js';

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
      await this.runner.run({ dryRun: false });
    } catch (error) {
      if (error instanceof RetentionBusyError) return; // another process runs this round
      this.logger.warn({ err: error }, 'retention run failed; next run at the next interval');
    }
  }
}
