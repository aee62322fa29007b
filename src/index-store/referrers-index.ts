// The referrers index in Redis: one sorted set of referrer digests per (repository, subject),
// the descriptors beside it.

import { randomBytes } from 'node:crypto';
import { inOrder, type RedisConnection } from './connection.js';
import type { Referrer } from '../oci/manifest.js';
import {
  EMPTY_INDEX_BYTES, joinEntries, toStoredDescriptor, type ReferrersQuery,
} from '../oci/referrers.js';
import { execAll, guard } from './guard.js';
import { PageCache, pageCacheKey } from './page-cache.js';
import { pageStep, type PageKeys, type PageQuestion, type PageStep } from './page-script.js';
import {
  descriptorsKey, entryMeta, entryMetaKey, indexedAtKey, journalField, mirrorDirtyKey,
  mirrorRepositoriesKey, pendingKey, pinnedKey, referrersKey, repositoriesKey,
  subjectMissingKey, subjectVersionsKey, subjectsKey,
} from './keys.js';

const FORGET_MISSING_IF_EMPTY = `if redis.call('zcard', KEYS[1]) == 0 then
  return redis.call('hdel', KEYS[2], ARGV[1]) end return 0`;

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

export interface IndexOptions {
  /** Bytes of recent pages kept in this process, served while unchanged (0: none). */
  readonly pageCacheBytes: number;
}

export class ReferrersIndex {
  readonly #cache: PageCache<ReferrersPage>;
  /** Change tokens are this process's random prefix and a counter: never reused anywhere. */
  readonly #tokenPrefix = randomBytes(9).toString('base64url');
  #changes = 0;

  constructor(
    private readonly redis: RedisConnection,
    options: IndexOptions = { pageCacheBytes: 0 },
  ) {
    this.#cache = new PageCache(options.pageCacheBytes);
  }

  #changeToken(): string {
    this.#changes += 1;
    return `${this.#tokenPrefix}.${this.#changes}`;
  }

  /**
   * Records a referrer the upstream accepted, and clears its journal entry in the same
   * transaction. Idempotent, so a push by digest and then by tag lists it once.
   */
  async add(repository: string, referrer: Referrer): Promise<void> {
    const { subject, descriptor } = referrer;
    const stored = toStoredDescriptor(descriptor);

    const transaction = () =>
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
        .hset(subjectVersionsKey(repository), subject, this.#changeToken())
        .hdel(pendingKey(repository), journalField('add', descriptor.digest)));
    await guard('index add', () => inOrder(this.redis, transaction,
      () => this.#listDirtyRepository(repository)));
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
  async remove(
    repository: string,
    digest: string,
    knownSubject?: string,
  ): Promise<string | undefined> {
    const subject = knownSubject ?? await this.subjectOf(repository, digest);
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
        .hincrby(mirrorDirtyKey(repository), subject, 1)
        .hset(subjectVersionsKey(repository), subject, this.#changeToken())
        // A subject left without referrers has no orphans to time: a later orphan of the same
        // digest gets a grace period of its own (lifecycle/retention.ts).
        .eval(FORGET_MISSING_IF_EMPTY, 2, referrersKey(repository, subject),
          subjectMissingKey(repository), subject);
    }

    if (subject === undefined) {
      await guard('index remove', () => execAll(transaction));
      return undefined;
    }
    // Listing the repository as dirty after the transaction is harmless even if it failed.
    await guard('index remove', () => inOrder(this.redis, () => execAll(transaction),
      () => this.#listDirtyRepository(repository)));
    return subject;
  }

  /**
   * The dirty subject is marked inside the index transaction; the repository is listed in the
   * global set after it (another hash slot). A crash in between leaves the subject marked, and
   * the next change of that repository lists it.
   */
  async #listDirtyRepository(repository: string): Promise<void> {
    // Two global keys: in a Redis Cluster they may live in different slots, so no MULTI.
    await Promise.all([
      this.redis.sadd(mirrorRepositoriesKey(), repository),
      this.redis.sadd(repositoriesKey(), repository),
    ]);
  }

  /**
   * One page of the referrers of `subject`, in digest order, filtered and size-bounded, as the
   * joined descriptor JSON Redis holds. Entries are admitted by their stored size before they
   * are read, so a page never reads more descriptors than it sends (a descriptor may carry
   * megabytes of annotations). Usually one round trip (page-script.ts), which also tells
   * whether the page this process holds for the same question is still current.
   */
  async page(
    repository: string,
    subject: string,
    query: ReferrersQuery,
    boundBytes: number,
  ): Promise<ReferrersPage> {
    const cacheKey = pageCacheKey(repository, subject, query.artifactTypes, query.last,
      boundBytes);
    const held = this.#cache.get(cacheKey);
    const keys = { referrers: referrersKey(repository, subject),
      entryMeta: entryMetaKey(repository), descriptors: descriptorsKey(repository),
      versions: subjectVersionsKey(repository) };
    const question = { subject, boundBytes, artifactTypes: query.artifactTypes,
      heldVersion: held?.version };

    const first = await this.#step(keys, question, query.last === undefined ? '-'
      : `(${query.last}`);
    if (first.state === 'same') {
      if (held === undefined) throw new Error('page script: same as no page');
      return held.page;
    }
    if (first.state === 'more') return this.#finishPage(keys, question, first);

    const page = { manifests: first.json, count: first.count,
      continueAfter: first.state === 'full' ? first.lastAdmitted : undefined };
    // A page read in one step is the list at exactly that version.
    if (first.version !== undefined) {
      this.#cache.set(cacheKey, first.version, page, page.manifests.length);
    }
    return page;
  }

  #step(keys: PageKeys, question: PageQuestion, start: string, from?: PageStep) {
    const state = { start, usedBytes: from?.usedBytes ?? EMPTY_INDEX_BYTES,
      count: from?.count ?? 0 };
    return guard('index read', () => pageStep(this.redis, keys, state, question));
  }

  /**
   * Goes on past the first step's scan limit (a filter that matches little of a long list).
   * Such a page spans several Redis calls, so it is not cached.
   */
  async #finishPage(
    keys: PageKeys,
    question: PageQuestion,
    first: PageStep,
  ): Promise<ReferrersPage> {
    const parts = first.json.length > 0 ? [first.json] : [];
    let lastAdmitted = first.lastAdmitted;
    let step = first;
    while (step.state === 'more' && step.lastScanned !== undefined) {
      step = await this.#step(keys, { ...question, heldVersion: undefined },
        `(${step.lastScanned}`, step);
      if (step.json.length > 0) parts.push(step.json);
      lastAdmitted = step.lastAdmitted ?? lastAdmitted;
    }
    return { manifests: joinEntries(parts), count: step.count,
      continueAfter: step.state === 'full' ? lastAdmitted : undefined };
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }
}
