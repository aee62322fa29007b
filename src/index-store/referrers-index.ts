// The referrers index in Redis: one sorted set of referrer digests per (repository, subject),
// the descriptors beside it. Every failure to reach Redis becomes IndexUnavailableError so the
// HTTP edge can answer with a retryable 503 instead of guessing.

import type { ChainableCommander, Redis } from 'ioredis';
import { IndexUnavailableError } from '../errors.js';
import type { Referrer } from '../oci/manifest.js';
import {
  PageBuilder,
  fromStoredJson,
  matchesFilter,
  toStoredDescriptor,
  type ReferrersQuery,
  type StoredDescriptor,
} from '../oci/referrers.js';
import {
  descriptorsKey,
  pendingKey,
  pendingRepositoriesKey,
  referrersKey,
  subjectsKey,
} from './keys.js';

/** How many referrer digests one round trip reads while filling a page. */
const SCAN_BATCH = 500;

export interface ReferrersPage {
  readonly entries: readonly StoredDescriptor[];
  /** Digest of the last entry when more entries follow; the next page starts after it. */
  readonly continueAfter: string | undefined;
}

/** A push with a subject whose outcome upstream was not yet known when it was recorded. */
export interface PendingReferrer {
  readonly repository: string;
  readonly referrer: Referrer;
  /** Milliseconds since the epoch when the push was recorded. */
  readonly since: number;
}

export class ReferrersIndex {
  constructor(private readonly redis: Redis) {}

  /**
   * Records that a referrer is about to be pushed upstream. Called before forwarding, so a
   * push is refused while Redis is unreachable and a crash after forwarding leaves a trace.
   * The hash is written before the repository is listed: see forgetRepositoryIfSettled.
   */
  async beginAdd(repository: string, referrer: Referrer, now = Date.now()): Promise<void> {
    const record = JSON.stringify({ subject: referrer.subject, descriptor: referrer.descriptor,
      since: now });

    await this.#run('index journal', async () => {
      await this.redis.hset(pendingKey(repository), referrer.descriptor.digest, record);
      await this.redis.sadd(pendingRepositoriesKey(), repository);
    });
  }

  /** Records a referrer the upstream accepted; idempotent, so re-pushes are listed once. */
  async add(repository: string, referrer: Referrer): Promise<void> {
    const { subject, descriptor } = referrer;
    const stored = toStoredDescriptor(descriptor);

    await this.#run('index add', () =>
      execAll(this.redis
        .multi()
        .zadd(referrersKey(repository, subject), 0, descriptor.digest)
        .hset(descriptorsKey(repository), descriptor.digest, stored.json)
        .hset(subjectsKey(repository), descriptor.digest, subject)
        .hdel(pendingKey(repository), descriptor.digest)),
    );
  }

  /** The upstream refused the push: nothing is indexed and the journal entry goes. */
  async abandon(repository: string, digest: string): Promise<void> {
    await this.#run('index journal', () => this.redis.hdel(pendingKey(repository), digest));
  }

  async pendingRepositories(): Promise<string[]> {
    return this.#run('index journal', () => this.redis.smembers(pendingRepositoriesKey()));
  }

  async pending(repository: string): Promise<PendingReferrer[]> {
    const records = await this.#run('index journal', () =>
      this.redis.hgetall(pendingKey(repository)),
    );
    return Object.values(records).map((record) => parsePending(repository, record));
  }

  /**
   * Drops a repository from the pending set once its journal is empty. Un-listing first and
   * re-listing when entries remain cannot lose a concurrent beginAdd, which writes its entry
   * before listing the repository.
   */
  async forgetRepositoryIfSettled(repository: string): Promise<void> {
    await this.#run('index journal', async () => {
      await this.redis.srem(pendingRepositoriesKey(), repository);
      if (await this.redis.hlen(pendingKey(repository)) > 0) {
        await this.redis.sadd(pendingRepositoriesKey(), repository);
      }
    });
  }

  /** Forgets a referrer; returns the subject it was listed under, if it was indexed. */
  async remove(repository: string, digest: string): Promise<string | undefined> {
    const subject = await this.#run('index lookup', () =>
      this.redis.hget(subjectsKey(repository), digest),
    );
    if (subject === null) return undefined;

    await this.#run('index remove', () =>
      execAll(this.redis
        .multi()
        .zrem(referrersKey(repository, subject), digest)
        .hdel(descriptorsKey(repository), digest)
        .hdel(subjectsKey(repository), digest)),
    );
    return subject;
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
    const digests = await this.#run('index read', () =>
      this.redis.zrangebylex(referrersKey(repository, subject), cursor, '+',
        'LIMIT', 0, SCAN_BATCH),
    );
    if (digests.length === 0) return { entries: [], lastDigest: undefined };

    const jsons = await this.#run('index read', () =>
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

  async #run<T>(operation: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new IndexUnavailableError(operation, { cause: error });
    }
  }
}

/** EXEC that fails when any queued command failed: ioredis reports those per command. */
async function execAll(transaction: ChainableCommander): Promise<void> {
  const results = await transaction.exec();
  if (results === null) throw new Error('transaction aborted');

  const failed = results.find(([error]) => error !== null);
  if (failed !== undefined) throw failed[0];
}

function parsePending(repository: string, record: string): PendingReferrer {
  const { subject, descriptor, since } = JSON.parse(record) as {
    subject: string;
    descriptor: Referrer['descriptor'];
    since: number;
  };
  return { repository, referrer: { subject, descriptor }, since };
}
