// The referrers index in Redis: one sorted set of referrer digests per (repository, subject),
// the descriptors beside it.

import type { Redis } from 'ioredis';
import type { Referrer } from '../oci/manifest.js';
import {
  PageBuilder,
  fromStoredJson,
  matchesFilter,
  toStoredDescriptor,
  type ReferrersQuery,
  type StoredDescriptor,
} from '../oci/referrers.js';
import { execAll, guard } from './guard.js';
import {
  descriptorsKey, journalField, mirrorDirtyKey, mirrorRepositoriesKey, pendingKey, referrersKey,
  subjectsKey,
} from './keys.js';

/** How many referrer digests one round trip reads while filling a page. */
const SCAN_BATCH = 500;

export interface ReferrersPage {
  readonly entries: readonly StoredDescriptor[];
  /** Digest of the last entry when more entries follow; the next page starts after it. */
  readonly continueAfter: string | undefined;
}

export class ReferrersIndex {
  constructor(private readonly redis: Redis) {}

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
        .hset(subjectsKey(repository), descriptor.digest, subject)
        .sadd(mirrorDirtyKey(repository), subject)
        .hdel(pendingKey(repository), journalField('add', descriptor.digest))),
    );
    await this.#listDirtyRepository(repository);
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
        .hdel(subjectsKey(repository), digest)
        .sadd(mirrorDirtyKey(repository), subject);
    }

    await guard('index remove', () => execAll(transaction));
    if (subject !== undefined) await this.#listDirtyRepository(repository);
    return subject;
  }

  /**
   * Every referrer of a subject, for the mirror (an unbounded page). The mirror tag holds
   * them all in one index, as the referrers tag schema requires.
   */
  async all(repository: string, subject: string): Promise<StoredDescriptor[]> {
    const everything = { artifactTypes: [], last: undefined };
    const page = await this.page(repository, subject, everything, Number.POSITIVE_INFINITY);
    return [...page.entries];
  }

  /**
   * The dirty subject is marked inside the index transaction; the repository is listed in the
   * global set after it (another hash slot). A crash in between leaves the subject marked, and
   * the next change of that repository lists it.
   */
  async #listDirtyRepository(repository: string): Promise<void> {
    await guard('index add', () => this.redis.sadd(mirrorRepositoriesKey(), repository));
  }

  /** One page of the referrers of `subject`, in digest order, filtered and size-bounded. */
  async page(
    repository: string,
    subject: string,
    query: ReferrersQuery,
    boundBytes: number,
  ): Promise<ReferrersPage> {
    const builder = new PageBuilder(boundBytes);
    let cursor = query.last === undefined ? '-' : `(${query.last}`;

    for (;;) {
      const batch = await this.#readBatch(repository, subject, cursor);
      for (const entry of batch.entries) {
        if (matchesFilter(entry, query) && !builder.offer(entry)) {
          return { entries: builder.entries, continueAfter: builder.entries.at(-1)?.digest };
        }
      }

      if (batch.lastDigest === undefined) {
        return { entries: builder.entries, continueAfter: undefined };
      }
      cursor = `(${batch.lastDigest}`;
    }
  }

  async #readBatch(
    repository: string,
    subject: string,
    cursor: string,
  ): Promise<{ entries: StoredDescriptor[]; lastDigest: string | undefined }> {
    const digests = await guard('index read', () =>
      this.redis.zrangebylex(referrersKey(repository, subject), cursor, '+',
        'LIMIT', 0, SCAN_BATCH),
    );
    if (digests.length === 0) return { entries: [], lastDigest: undefined };

    const jsons = await guard('index read', () =>
      this.redis.hmget(descriptorsKey(repository), ...digests),
    );
    // A referrer removed between the two reads has no descriptor left; it is simply skipped.
    const entries = jsons.flatMap((json) => (json === null ? [] : [fromStoredJson(json)]));
    const more = digests.length === SCAN_BATCH;
    return { entries, lastDigest: more ? digests.at(-1) : undefined };
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }
}
