// Deleting one manifest by digest through the registry's own API while keeping the index in
// step: the plain DELETE route, cascading deletes and retention all go through here. The digest
// lock and the journal make a delete safe against a concurrent push of the same digest and
// against a crash between the registry's answer and the index write (design.md 2 and 7).

import { IndexUnavailableError } from '../errors.js';
import type { DigestLocks } from '../index-store/digest-lock.js';
import type { ChangeJournal } from '../index-store/journal.js';
import type { ReferrersIndex } from '../index-store/referrers-index.js';
import type { UpstreamResponse } from '../upstream/client.js';

/** Sends the DELETE for the digest, with whichever credentials the caller stands for. */
export type SendDelete = () => Promise<UpstreamResponse>;

export interface DeleteOutcome {
  readonly response: UpstreamResponse;
  /** The subject the digest was listed under as a referrer, if it was one. */
  readonly subject: string | undefined;
  /** The registry no longer holds the manifest (202, or 404 where that proves it gone). */
  readonly gone: boolean;
}

export interface DeleteOptions {
  /**
   * A 404 proves the manifest gone only when the caller is known to be able to read the
   * repository; otherwise a registry hiding a repository with 404 could empty the index.
   */
  readonly notFoundMeansGone: boolean;
}

export class ManifestDeleter {
  constructor(
    private readonly index: ReferrersIndex,
    private readonly journal: ChangeJournal,
    private readonly locks: DigestLocks,
    private readonly mirror: { kick(): void },
  ) {}

  async delete(
    repository: string,
    digest: string,
    send: SendDelete,
    options: DeleteOptions,
  ): Promise<DeleteOutcome> {
    // Locked even when nothing is indexed yet: a push of this digest may be on its way.
    return this.locks.withLock(repository, digest, async (lock) => {
      const subject = await this.index.subjectOf(repository, digest);
      if (subject === undefined) {
        const response = await send();
        return { response, subject, gone: isGone(response, options) };
      }

      await this.journal.record({ op: 'remove', repository, digest, since: Date.now() });
      const response = await send();
      const gone = isGone(response, options);
      // As for pushes (http/manifests.ts): a lock lost in an outage leaves it to recovery.
      if (gone && !lock.intact()) throw new IndexUnavailableError('digest lock lost');
      await this.#settle(repository, digest, subject, gone);
      return { response, subject, gone };
    });
  }

  async #settle(repository: string, digest: string, subject: string, gone: boolean)
    : Promise<void> {
    if (!gone) {
      await this.journal.clear(repository, 'remove', digest).catch(() => undefined);
      return;
    }
    await this.index.remove(repository, digest, subject);
    this.mirror.kick();
  }
}

function isGone(response: UpstreamResponse, options: DeleteOptions): boolean {
  return response.status === 202 || (options.notFoundMeansGone && response.status === 404);
}
