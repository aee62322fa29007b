// Brings the registry in line with the index, per subject: the referrers tag holds an image
// index equal to what the referrers API answers (distribution-spec "Referrers Tag Schema"),
// and each referrer carries a pin tag so garbage collection keeps it. Index changes mark a
// subject dirty; whichever proxy process takes the subject's lock syncs it. A burst of changes
// to one subject marks it once, so it is written far fewer times than it changed, and the last
// write always reads the final state.

import type { RedisConnection } from './index-store/connection.js';
import {
  mirrorDirtyKey,
  mirrorLockKey,
  mirrorRepositoriesKey,
  mirrorWrittenKey,
  pinnedKey,
} from './index-store/keys.js';
import type { DigestLocks } from './index-store/digest-lock.js';
import { tryLock } from './index-store/lock.js';
import type { ReferrersIndex } from './index-store/referrers-index.js';
import type { Logger } from './log.js';
import { computeDigest } from './oci/digest.js';
import { OCI_INDEX, OCI_MANIFEST } from './oci/media-types.js';
import { renderIndex, type StoredDescriptor } from './oci/referrers.js';
import { pinTag, referrersTag } from './oci/referrers-tag.js';
import type { OwnUpstream } from './upstream/own-credentials.js';

export interface MirrorOptions {
  readonly mirror: boolean;
  readonly pins: boolean;
  /** Sweep for dirty subjects this often, to pick up work of crashed or busy processes. */
  readonly intervalMs: number;
  /** Wait this long after a change before syncing, so a burst is written once. */
  readonly debounceMs: number;
}

/** registry 2.8 refuses manifests over 4 MiB; a larger referrers index cannot be mirrored. */
const MAX_MIRROR_BYTES = 4 * 1024 * 1024;
const LOCK_MS = 60_000;

class MirrorWriteError extends Error {
  override readonly name = 'MirrorWriteError';
}

export class MirrorWorker {
  #timer: NodeJS.Timeout | undefined;
  #kicked: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: RedisConnection,
    private readonly index: ReferrersIndex,
    private readonly locks: DigestLocks,
    private readonly upstream: OwnUpstream,
    private readonly logger: Logger,
    private readonly options: MirrorOptions,
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.#timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#kicked);
    await this.#running;
  }

  /** Asks for a sync soon; calls within the debounce window share one run. */
  kick(): void {
    if (this.#kicked !== undefined) return;
    this.#kicked = setTimeout(() => {
      this.#kicked = undefined;
      this.#running = this.#running.then(() => this.#runLogged());
    }, this.options.debounceMs);
  }

  async #runLogged(): Promise<void> {
    try {
      await this.runOnce();
    } catch (error) {
      // The subject stays dirty; the next sweep retries, not sooner, so a registry that keeps
      // refusing is not hammered.
      this.logger.warn({ err: error }, 'mirror sync failed; will retry');
    }
  }

  /** Syncs every dirty subject this process can lock; returns how many it synced. */
  async runOnce(): Promise<number> {
    let synced = 0;
    for (const repository of await this.redis.smembers(mirrorRepositoriesKey())) {
      const subjects = await this.redis.smembers(mirrorDirtyKey(repository));
      for (const subject of subjects) {
        if (await this.#withLock(repository, subject)) synced++;
      }
      await this.#forgetRepositoryIfClean(repository);
    }
    return synced;
  }

  async #withLock(repository: string, subject: string): Promise<boolean> {
    const lock = await tryLock(this.redis, mirrorLockKey(repository, subject), LOCK_MS);
    if (lock === undefined) return false;

    try {
      // Cleared before reading: a change landing during the sync marks the subject again.
      await this.redis.srem(mirrorDirtyKey(repository), subject);
      await this.#sync(repository, subject);
      return true;
    } catch (error) {
      await this.redis.sadd(mirrorDirtyKey(repository), subject);
      throw error;
    } finally {
      await lock.release();
    }
  }

  async #sync(repository: string, subject: string): Promise<void> {
    const everything = { artifactTypes: [], last: undefined };
    const page = await this.index.page(repository, subject, everything, MAX_MIRROR_BYTES);
    const complete = page.continueAfter === undefined;
    // Pins beyond the first 4 MiB of descriptors wait until the list shrinks. A referrer found
    // missing while pinning leaves the index, which marks the subject for another sync.
    if (this.options.pins) {
      const dropped = await this.#reconcilePins(repository, subject, page.entries, complete);
      if (dropped > 0) return;
    }

    if (this.options.mirror && complete) {
      await this.#writeReferrersTag(repository, subject, page.entries);
    } else if (this.options.mirror) {
      this.logger.warn({ repository, subject },
        'referrers index too large for a mirror tag (4 MiB); tag left as it was');
    }
  }

  async #writeReferrersTag(
    repository: string,
    subject: string,
    entries: readonly StoredDescriptor[],
  ): Promise<void> {
    const body = Buffer.from(renderIndex(entries));

    const digest = computeDigest(body);
    const written = await this.redis.hget(mirrorWrittenKey(repository), subject);
    if (written === digest) return;

    if (entries.length > 0) await this.#putIndex(repository, subject, body);
    await this.#recordWritten(repository, subject, entries.length > 0 ? digest : undefined);
    this.logger.debug({ repository, subject, digest, referrers: entries.length },
      'mirror tag written');
    // Only an index the proxy wrote itself is ever deleted (design.md invariant 6).
    if (written !== null) await this.#deleteManifest(repository, written);
  }

  async #putIndex(repository: string, subject: string, body: Buffer): Promise<void> {
    const path = `/v2/${repository}/manifests/${referrersTag(subject)}`;
    const response = await this.upstream.send('PUT', path, { 'content-type': OCI_INDEX }, body);
    if (response.status === 400) await this.#dropMissing(repository, body);
    if (response.status !== 201) {
      throw new MirrorWriteError(`PUT ${path} answered ${response.status}`);
    }
  }

  /**
   * Registry 2.8 refuses an index that lists a manifest it does not hold. The index is derived
   * data: a referrer the registry confirms missing (deleted behind the proxy's back) leaves it.
   */
  async #dropMissing(repository: string, indexBody: Buffer): Promise<void> {
    const { manifests } = JSON.parse(indexBody.toString('utf8')) as
      { manifests: { digest: string }[] };
    for (const { digest } of manifests) {
      await this.locks.withLock(repository, digest, () => this.#dropIfMissing(repository, digest));
    }
  }

  /**
   * Removes an indexed referrer the registry answers 404 for; true when it did. The caller
   * holds the digest's lock, so a push of that digest cannot be overtaken.
   */
  async #dropIfMissing(repository: string, digest: string): Promise<boolean> {
    const head = await this.upstream.send('HEAD', `/v2/${repository}/manifests/${digest}`,
      { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` });
    if (head.status !== 404) return false;

    await this.index.remove(repository, digest);
    this.logger.info({ repository, digest }, 'referrer missing from the registry; unlisted');
    return true;
  }

  async #recordWritten(repository: string, subject: string, digest: string | undefined) {
    if (digest === undefined) await this.redis.hdel(mirrorWrittenKey(repository), subject);
    else await this.redis.hset(mirrorWrittenKey(repository), subject, digest);
  }

  /** Deletes a manifest by digest; already gone counts as deleted. */
  async #deleteManifest(repository: string, digest: string): Promise<void> {
    const path = `/v2/${repository}/manifests/${digest}`;
    const response = await this.upstream.send('DELETE', path, {});
    if (response.status !== 202 && response.status !== 404) {
      throw new MirrorWriteError(`DELETE ${path} answered ${response.status}`);
    }
  }

  async #reconcilePins(
    repository: string,
    subject: string,
    entries: readonly StoredDescriptor[],
    complete: boolean,
  ): Promise<number> {
    const key = pinnedKey(repository, subject);
    const pinned = new Set(await this.redis.smembers(key));
    const listed = new Set(entries.map((entry) => entry.digest));

    let dropped = 0;
    for (const digest of listed) {
      if (pinned.has(digest)) continue;
      if (await this.#pin(repository, digest)) await this.redis.sadd(key, digest);
      else dropped++;
    }
    for (const digest of pinned) {
      if (listed.has(digest) || !complete) continue;
      await this.#unpin(repository, digest);
      await this.redis.srem(key, digest);
    }
    return dropped;
  }

  /**
   * Tags the referrer's own bytes under its pin tag, holding the digest's lock and only while
   * it is still indexed: a pin PUT after a concurrent delete would store the deleted referrer
   * again.
   */
  async #pin(repository: string, digest: string): Promise<boolean> {
    return this.locks.withLock(repository, digest, async () => {
      if (await this.index.subjectOf(repository, digest) === undefined) return false;
      return this.#putPin(repository, digest);
    });
  }

  /** false when the registry no longer holds the referrer (it is then unlisted). */
  async #putPin(repository: string, digest: string): Promise<boolean> {
    const accept = { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` };
    const manifest = await this.upstream.send('GET', `/v2/${repository}/manifests/${digest}`,
      accept);
    if (manifest.status === 404 && await this.#dropIfMissing(repository, digest)) return false;
    if (manifest.status !== 200 || computeDigest(manifest.body) !== digest) {
      throw new MirrorWriteError(`GET ${digest} answered ${manifest.status}`);
    }

    const contentType = String(manifest.headers['content-type'] ?? OCI_MANIFEST);
    const path = `/v2/${repository}/manifests/${pinTag(digest)}`;
    const response = await this.upstream.send('PUT', path, { 'content-type': contentType },
      manifest.body);
    if (response.status !== 201) {
      throw new MirrorWriteError(`PUT ${path} answered ${response.status}`);
    }
    return true;
  }

  /**
   * Removes a pin tag. Registry 2.8 has no tag delete, but deleting the referrer by digest
   * already dropped every tag on it; registries that delete tags get the explicit request.
   */
  async #unpin(repository: string, digest: string): Promise<void> {
    await this.upstream.send('DELETE', `/v2/${repository}/manifests/${pinTag(digest)}`, {});
  }

  /** Un-lists, then re-lists if subjects remain: a concurrent mark is never lost. */
  async #forgetRepositoryIfClean(repository: string): Promise<void> {
    await this.redis.srem(mirrorRepositoriesKey(), repository);
    if (await this.redis.scard(mirrorDirtyKey(repository)) > 0) {
      await this.redis.sadd(mirrorRepositoriesKey(), repository);
    }
  }
}
