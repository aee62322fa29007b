// Settles index changes that a crash (of the proxy, Redis or the upstream) left half done: the
// journal says a referrer was about to be pushed or deleted, but the outcome was never
// applied. The upstream is the source of truth (design.md invariant 2): a pushed referrer it
// holds is indexed, one it lacks is dropped; a deleted referrer it no longer holds is removed.

import type { DigestLocks } from './index-store/digest-lock.js';
import type { ChangeJournal, PendingChange } from './index-store/journal.js';
import { changedDigest } from './index-store/journal.js';
import type { ReferrersIndex } from './index-store/referrers-index.js';
import type { Logger } from './log.js';
import { OCI_INDEX, OCI_MANIFEST } from './oci/media-types.js';
import type { UpstreamClient } from './upstream/client.js';

export interface RecoveryOptions {
  /** Entries younger than this may belong to a request still in flight; they are left alone. */
  readonly settleAfterMs: number;
  readonly intervalMs: number;
}

export interface RecoveryReport {
  indexed: number;
  removed: number;
  cleared: number;
  undecided: number;
}

type Outcome = keyof RecoveryReport;

export class PendingRecovery {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly index: ReferrersIndex,
    private readonly journal: ChangeJournal,
    private readonly locks: DigestLocks,
    /** The proxy's own access (its credentials, when configured). */
    private readonly upstream: Pick<UpstreamClient, 'send'>,
    private readonly logger: Logger,
    private readonly options: RecoveryOptions,
  ) {}

  start(): void {
    const tick = (): void => {
      this.#running = this.runOnce().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'journal recovery failed; will retry');
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
    const report: RecoveryReport = { indexed: 0, removed: 0, cleared: 0, undecided: 0 };
    for (const repository of await this.journal.repositories()) {
      for (const change of await this.journal.pending(repository)) {
        if (now - change.since < this.options.settleAfterMs) continue;
        // Under the digest's lock: a client pushing or deleting it now must not be overtaken.
        const outcome = await this.locks.withLock(repository, changedDigest(change),
          () => this.#settle(change));
        report[outcome]++;
      }
      await this.journal.forgetRepositoryIfSettled(repository);
    }

    if (report.indexed + report.removed + report.cleared + report.undecided > 0) {
      this.logger.info({ recovery: report }, 'settled journalled index changes');
    }
    return report;
  }

  async #settle(change: PendingChange): Promise<Outcome> {
    const stored = await this.#upstreamHolds(change.repository, changedDigest(change));
    if (stored === undefined) return 'undecided';

    if (change.op === 'add' && stored) {
      await this.index.add(change.repository, change.referrer);
      return 'indexed';
    }
    if (change.op === 'remove' && !stored) {
      await this.index.remove(change.repository, change.digest);
      return 'removed';
    }
    await this.journal.clear(change.repository, change.op, changedDigest(change));
    return 'cleared';
  }

  /** true/false when the upstream says; undefined when it will not tell (401, 403, 5xx). */
  async #upstreamHolds(repository: string, digest: string): Promise<boolean | undefined> {
    const response = await this.upstream.send('HEAD', `/v2/${repository}/manifests/${digest}`, {
      accept: `${OCI_MANIFEST}, ${OCI_INDEX}`,
    });
    if (response.status === 200) return true;
    return response.status === 404 ? false : undefined;
  }
}
