// The referrers index in Redis: one sorted set of referrer digests per (repository, subject),
// the descriptors beside it.

import type { RedisConnection } from './connection.js';
import type { Referrer } from '../oci/manifest.js';
import {
  EMPTY_INDEX_BYTES, joinEntries, toStoredDescriptor, type ReferrersQuery,
} from '../oci/referrers.js';
import { execAll, guard } from './guard.js';
import { pageStep } from './page-script.js';
import {
  descriptorsKey, entryMeta, entryMetaKey, indexedAtKey, journalField, mirrorDirtyKey,
  mirrorRepositoriesKey, pendingKey, pinnedKey, referrersKey, repositoriesKey, subjectsKey,
} from './keys.js';

export interface ReferrersPage {
  /** The page's descriptors as stored, joined by commas: the body of `manifests`. */
  readonly manifests: Buffer;
  readonly count: number;
  /** Digest of the last entry when more entries follow; the next page starts after it. */
  readonly continueAfter: string | undefined;
}

export interface IndexEntry {
  readonly digest: string;
  readonly subject: string;
  /** The descriptor as the referrers API lists it. */
  readonly json: string;
  /** Undefined for entries indexed before the proxy recorded the time. */
  readonly indexedAt: number | undefined;
}

export class ReferrersIndex {
  constructor(private readonly redis: RedisConnection) {}

  /**
   * Records a referrer the upstream accepted, and clears its journal entry in the same
   * transaction. Idempotent, so a push by digest and then by tag lists it once.
   */
  async add(repository: string, referrer: Referrer): Promise<void> {
    const { subject, descriptor } = referrer;
    const stored = toStoredDescriptor(descriptor);

    await guard('index add', () =>
      execAll(this.redis
        .multi()
        .zadd(referrersKey(repository, subject), 0, descriptor.digest)
        .hset(descriptorsKey(repository), descriptor.digest, stored.json)
        .hset(entryMetaKey(repository), descriptor.digest,
          entryMeta(Buffer.byteLength(stored.json), descriptor.artifactType))
        .hset(subjectsKey(repository), descriptor.digest, subject)
        // The first time only: a re-push or a rebuild does not make a referrer younger.
        .hsetnx(indexedAtKey(repository), descriptor.digest, String(Date.now()))
        .hincrby(mirrorDirtyKey(repository), subject, 1)
        .hdel(pendingKey(repository), journalField('add', descriptor.digest))),
    );
    await this.#listDirtyRepository(repository);
  }

  /** Every referrer digest of `subject`, in digest order. */
  async referrersOf(repository: string, subject: string): Promise<string[]> {
    return guard('index read', () =>
      this.redis.zrange(referrersKey(repository, subject), 0, -1));
  }

  /** Repositories that have held indexed referrers since the index was built. */
  async repositories(): Promise<string[]> {
    const members = await guard('index read', () => this.redis.smembers(repositoriesKey()));
    return members.sort();
  }

  /**
   * Every referrer of a repository with its subject, stored descriptor JSON and first-indexed
   * time, for retention. Read in three whole-hash reads: retention runs rarely and a
   * repository holds at most some hundred thousand referrers.
   */
  async entries(repository: string): Promise<IndexEntry[]> {
    const [subjects, descriptors, indexedAt] = await guard('index read', () => Promise.all([
      this.redis.hgetall(subjectsKey(repository)),
      this.redis.hgetall(descriptorsKey(repository)),
      this.redis.hgetall(indexedAtKey(repository)),
    ]));

    return Object.entries(subjects).flatMap(([digest, subject]) => {
      const json = descriptors[digest];
      if (json === undefined) return [];
      const at = Number(indexedAt[digest]);
      return [{ digest, subject, json, indexedAt: Number.isFinite(at) ? at : undefined }];
    });
  }

  /** The subject a referrer is listed under, if it is indexed. */
  async subjectOf(repository: string, digest: string): Promise<string | undefined> {
    const subject = await guard('index read', () =>
      this.redis.hget(subjectsKey(repository), digest));
    return subject ?? undefined;
  }

  /**
   * Forgets a referrer the upstream deleted, and clears its journal entry in the same
   * transaction; returns the subject it was listed under, if it was indexed.
   */
  async remove(repository: string, digest: string): Promise<string | undefined> {
    const subject = await this.subjectOf(repository, digest);
    const transaction = this.redis.multi()
      .hdel(pendingKey(repository), journalField('remove', digest));
    if (subject !== undefined) {
      transaction
        .zrem(referrersKey(repository, subject), digest)
        .hdel(descriptorsKey(repository), digest)
        .hdel(entryMetaKey(repository), digest)
        .hdel(subjectsKey(repository), digest)
        .hdel(indexedAtKey(repository), digest)
        // Deleting a manifest drops every tag on it (distribution-spec "Deleting Manifests"),
        // its pin included: a later push of the same bytes must be pinned again.
        .srem(pinnedKey(repository, subject), digest)
        .hincrby(mirrorDirtyKey(repository), subject, 1);
    }

    await guard('index remove', () => execAll(transaction));
    if (subject !== undefined) await this.#listDirtyRepository(repository);
    return subject;
  }

  /**
   * The dirty subject is marked inside the index transaction; the repository is listed in the
   * global set after it (another hash slot). A crash in between leaves the subject marked, and
   * the next change of that repository lists it.
   */
  async #listDirtyRepository(repository: string): Promise<void> {
    // Two global keys: in a Redis Cluster they may live in different slots, so no MULTI.
    await guard('index add', () => Promise.all([
      this.redis.sadd(mirrorRepositoriesKey(), repository),
      this.redis.sadd(repositoriesKey(), repository),
    ]));
  }

  /**
   * One page of the referrers of `subject`, in digest order, filtered and size-bounded, as the
   * joined descriptor JSON Redis holds. Entries are admitted by their stored size before they
   * are read, so a page never reads more descriptors than it sends (a descriptor may carry
   * megabytes of annotations). Usually one round trip; see page-script.ts.
   */
  async page(
    repository: string,
    subject: string,
    query: ReferrersQuery,
    boundBytes: number,
  ): Promise<ReferrersPage> {
    const keys = { referrers: referrersKey(repository, subject),
      entryMeta: entryMetaKey(repository), descriptors: descriptorsKey(repository) };
    const parts: Buffer[] = [];
    let state = { start: query.last === undefined ? '-' : `(${query.last}`,
      usedBytes: EMPTY_INDEX_BYTES, count: 0 };
    let lastAdmitted: string | undefined;

    for (;;) {
      const step = await guard('index read', () =>
        pageStep(this.redis, keys, state, boundBytes, query.artifactTypes));
      if (step.json.length > 0) parts.push(step.json);
      lastAdmitted = step.lastAdmitted ?? lastAdmitted;

      const manifests = { manifests: joinEntries(parts), count: step.count };
      if (step.state === 'full') return { ...manifests, continueAfter: lastAdmitted };
      if (step.state === 'end' || step.lastScanned === undefined) {
        return { ...manifests, continueAfter: undefined };
      }
      state = { start: `(${step.lastScanned}`, usedBytes: step.usedBytes, count: step.count };
    }
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }
}
