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
import { descriptorsOfIndex, renderIndexBytes } from './oci/referrers.js';
import { pinTag, referrersTag } from './oci/referrers-tag.js';
import { fetchManifest, referrerOf } from './upstream/manifests.js';
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
const LOCK_MS = 10_000;
const EVERYTHING = { artifactTypes: [], last: undefined };
const CLEAR_IF_UNCHANGED = `if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('hdel', KEYS[1], ARGV[1]) else return 0 end`;

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

  /**
   * Syncs every dirty subject this process can lock; returns how many it synced. A subject
   * that fails is logged and left marked; the others go on (one subject must not stall all).
   */
  async runOnce(): Promise<number> {
    let synced = 0;
    for (const repository of await this.redis.smembers(mirrorRepositoriesKey())) {
      for (const subject of await this.redis.hkeys(mirrorDirtyKey(repository))) {
        try {
          if (await this.#syncLocked(repository, subject)) synced++;
        } catch (error) {
          this.logger.warn({ err: error, repository, subject }, 'mirror sync failed; will retry');
        }
      }
      await this.#forgetRepositoryIfClean(repository);
    }
    return synced;
  }

  async #syncLocked(repository: string, subject: string): Promise<boolean> {
    const lock = await tryLock(this.redis, mirrorLockKey(repository, subject), LOCK_MS);
    if (lock === undefined) return false;

    try {
      const mark = await this.redis.hget(mirrorDirtyKey(repository), subject);
      if (mark === null) return false;
      await this.#sync(repository, subject);
      // Cleared only if nothing changed during the sync; a crash before this leaves it marked.
      await this.redis.eval(CLEAR_IF_UNCHANGED, 1, mirrorDirtyKey(repository), subject, mark);
      return true;
    } finally {
      await lock.release();
    }
  }

  async #sync(repository: string, subject: string): Promise<void> {
    // A referrer found missing while pinning leaves the index, which marks the subject again;
    // the tag is written by the next sync, from the corrected list.
    if (this.options.pins && await this.#reconcilePins(repository, subject) > 0) return;
    if (this.options.mirror) await this.#writeReferrersTag(repository, subject);
  }

  async #writeReferrersTag(repository: string, subject: string): Promise<void> {
    const page = await this.index.page(repository, subject, EVERYTHING, MAX_MIRROR_BYTES);
    const body = renderIndexBytes(page.manifests);
    if (page.continueAfter !== undefined || body.length > MAX_MIRROR_BYTES) {
      this.logger.warn({ repository, subject },
        'referrers index too large for a mirror tag (4 MiB); tag left as it was');
      return;
    }

    const digest = computeDigest(body);
    const written = await this.redis.hget(mirrorWrittenKey(repository), subject);
    const current = await this.#taggedDigest(repository, subject);
    if (current !== undefined && current !== written && current !== digest
      && await this.#adopt(repository, subject) > 0) return;

    const listed = page.count > 0;
    if (listed && current !== digest) {
      await this.#putIndex(repository, subject, body);
      this.logger.debug({ repository, subject, digest, referrers: page.count },
        'mirror tag written');
    }
    await this.#recordWritten(repository, subject, listed ? digest : undefined);
    // Only an index the proxy wrote itself is ever deleted (design.md invariant 6).
    if (written !== null && written !== digest) await this.#deleteManifest(repository, written);
  }

  /** Digest of the manifest the referrers tag holds now, whoever wrote it. */
  async #taggedDigest(repository: string, subject: string): Promise<string | undefined> {
    const path = `/v2/${repository}/manifests/${referrersTag(subject)}`;
    const response = await this.upstream.send('HEAD', path, { accept: OCI_INDEX });
    const reported = response.headers['docker-content-digest'];
    return response.status === 200 && typeof reported === 'string' ? reported : undefined;
  }

  /**
   * The tag holds an index the proxy did not write (a client wrote it, bypassing the proxy, or
   * before it arrived). Before it is replaced, its entries that check out are indexed, as a
   * rebuild would (distribution-spec "Enabling the Referrers API"); returns how many.
   */
  async #adopt(repository: string, subject: string): Promise<number> {
    const tag = referrersTag(subject);
    const listed = await fetchManifest(this.upstream, repository, tag);
    const entries = listed === undefined ? undefined : descriptorsOfIndex(listed.bytes);
    let adopted = 0;
    for (const entry of entries ?? []) {
      if (await this.index.subjectOf(repository, entry.digest) !== undefined) continue;
      const fetched = await fetchManifest(this.upstream, repository, entry.digest);
      const referrer = fetched === undefined ? undefined : referrerOf(fetched);
      if (referrer === undefined || referrersTag(referrer.subject) !== tag) continue;

      await this.locks.withLock(repository, entry.digest, () => this.index.add(repository,
        referrer));
      adopted++;
    }
    return adopted;
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
    for (const { digest } of descriptorsOfIndex(indexBody) ?? []) {
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

  /**
   * Pins every listed referrer not pinned yet, page by page (pins have no size limit). A pin
   * dies with its referrer (index.remove forgets it), so there is nothing to unpin. Returns
   * how many referrers turned out to be gone from the registry.
   */
  async #reconcilePins(repository: string, subject: string): Promise<number> {
    const key = pinnedKey(repository, subject);
    const pinned = new Set(await this.redis.smembers(key));
    let dropped = 0;
    let last: string | undefined;
    do {
      const page = await this.index.page(repository, subject, { ...EVERYTHING, last },
        MAX_MIRROR_BYTES);
      for (const { digest } of descriptorsOfIndex(renderIndexBytes(page.manifests)) ?? []) {
        if (pinned.has(digest)) continue;
        if (await this.#pin(repository, digest)) await this.redis.sadd(key, digest);
        else dropped++;
      }
      last = page.continueAfter;
    } while (last !== undefined);
    return dropped;
  }

  /**
   * Tags the referrer's own bytes under its pin tag, holding the digest's lock and only while
   * it is still indexed: a pin PUT after a concurrent delete would store the deleted referrer
   * again. false when it is no longer indexed or the registry lost it (it is then unlisted).
   */
  async #pin(repository: string, digest: string): Promise<boolean> {
    return this.locks.withLock(repository, digest, async () => {
      if (await this.index.subjectOf(repository, digest) === undefined) return false;
      return this.#putPin(repository, digest);
    });
  }

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

  /** Un-lists, then re-lists if subjects remain: a concurrent mark is never lost. */
  async #forgetRepositoryIfClean(repository: string): Promise<void> {
    await this.redis.srem(mirrorRepositoriesKey(), repository);
    if (await this.redis.hlen(mirrorDirtyKey(repository)) > 0) {
      await this.redis.sadd(mirrorRepositoriesKey(), repository);
    }
  }
}
