// Settles pushes that a crash (of the proxy, Redis or the upstream) left half done: a journal
// entry says a referrer was about to be pushed, but neither "indexed" nor "refused" was
// recorded. The upstream is the source of truth: if it holds the manifest, the referrer is
// indexed; if it does not, the entry is dropped (design.md invariant 2).

import type { ReferrersIndex, PendingReferrer } from './index-store/referrers-index.js';
import type { Logger } from './log.js';
import { OCI_INDEX, OCI_MANIFEST } from './oci/media-types.js';
import type { UpstreamClient } from './upstream/client.js';

export interface RecoveryOptions {
  /** Entries younger than this may belong to a push still in flight; they are left alone. */
  readonly settleAfterMs: number;
  readonly intervalMs: number;
}

export interface RecoveryReport {
  indexed: number;
  dropped: number;
  undecided: number;
}

export class PendingRecovery {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly index: ReferrersIndex,
    private readonly upstream: UpstreamClient,
    private readonly logger: Logger,
    private readonly options: RecoveryOptions,
  ) {}

  start(): void {
    const tick = (): void => {
      this.#running = this.runOnce().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'pending referrer recovery failed; will retry');
      });
    };
    tick();
    this.#timer = setInterval(tick, this.options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async runOnce(now = Date.now()): Promise<RecoveryReport> {
    const report: RecoveryReport = { indexed: 0, dropped: 0, undecided: 0 };
    for (const repository of await this.index.pendingRepositories()) {
      for (const entry of await this.index.pending(repository)) {
        if (now - entry.since >= this.options.settleAfterMs) await this.#settle(entry, report);
      }
      await this.index.forgetRepositoryIfSettled(repository);
    }

    if (report.indexed + report.dropped + report.undecided > 0) {
      this.logger.info({ recovery: report }, 'settled pending referrer pushes');
    }
    return report;
  }

  async #settle(entry: PendingReferrer, report: RecoveryReport): Promise<void> {
    const { repository, referrer } = entry;
    const path = `/v2/${repository}/manifests/${referrer.descriptor.digest}`;
    const response = await this.upstream.send('HEAD', path, {
      accept: `${OCI_MANIFEST}, ${OCI_INDEX}`,
    });

    if (response.status === 200) {
      await this.index.add(repository, referrer);
      report.indexed++;
    } else if (response.status === 404) {
      await this.index.abandon(repository, referrer.descriptor.digest);
      report.dropped++;
    } else {
      // 401/403 (the registry wants credentials the proxy does not have) or a 5xx: keep it.
      report.undecided++;
    }
  }
}
