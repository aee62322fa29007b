// A retention run: gathers the facts of every referrer some policy could expire (from the
// index, and whether its subject still exists from the registry), plans with the pure planner,
// then deletes through the registry's own API with the proxy's own credentials, cascading as
// CASCADE_DELETE says. Nothing a tag lock protects is touched. A dry run stops before the
// deletes and reports the same entries.

import type { CascadeMode } from '../config.js';
import type { RedisConnection } from '../index-store/connection.js';
import { guard } from '../index-store/guard.js';
import { indexedAtKey, retentionLockKey, subjectMissingKey } from '../index-store/keys.js';
import { tryLock } from '../index-store/lock.js';
import { RetentionBusyError } from '../errors.js';
import type { IndexEntry, ReferrersIndex } from '../index-store/referrers-index.js';
import { probeAccess } from '../upstream/access-probe.js';
import type { Logger } from '../log.js';
import type { UpstreamResponse } from '../upstream/client.js';
import { MANIFEST_ACCEPT } from '../upstream/manifests.js';
import type { UpstreamRequest } from '../upstream/tags.js';
import { inBatches, LOOKUPS_AT_ONCE } from './batches.js';
import { planCascade, runCascade, type CascadeStep } from './cascade.js';
import { lockedManifests, type LockedBy } from './locked-manifests.js';
import type { ManifestDeleter } from './manifest-delete.js';
import type { RetentionPolicy } from './policy.js';
import {
  descriptorFacts, planRetention, type Expiry, type ReferrerFacts,
} from './retention-plan.js';
import type { TagLockStore } from './tag-lock-store.js';

export interface RetentionEntry {
  readonly repository: string;
  readonly digest: string;
  readonly subject: string;
  readonly artifactType: string | undefined;
  readonly policy: string;
  readonly reason: string;
  /** Referrers of this referrer, deleted before it (cascade), deepest first. */
  readonly cascade: readonly string[];
}

export interface RetentionReport {
  readonly dryRun: boolean;
  readonly startedAt: string;
  /** Repositories some policy applies to, and the referrers examined in them. */
  repositories: number;
  examined: number;
  /** Deleted, or in a dry run what would be deleted. */
  readonly deleted: RetentionEntry[];
  /** Expired but kept: a tag lock protects it or something under it. */
  readonly skipped: RetentionEntry[];
  readonly failed: { repository: string; digest: string | undefined; message: string }[];
}

export interface RetentionRunOptions {
  readonly dryRun: boolean;
  readonly repository?: string;
}

/** Renewed while a run lasts; a crashed runner's lock frees itself this soon. */
const LOCK_MS = 60_000;

export class RetentionRunner {
  constructor(
    private readonly redis: RedisConnection,
    private readonly index: ReferrersIndex,
    private readonly request: UpstreamRequest,
    private readonly origin: string,
    private readonly deleter: ManifestDeleter,
    private readonly tagLocks: TagLockStore,
    private readonly policies: readonly RetentionPolicy[],
    private readonly cascade: CascadeMode,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs the policies once. Real runs take turns across every process sharing the Redis (the
   * schedule, the endpoint and the command alike); dry runs change nothing and need no turn.
   */
  async run(options: RetentionRunOptions): Promise<RetentionReport> {
    if (options.dryRun) return this.#logged(await this.#run(options));

    const lock = await guard('retention lock', () =>
      tryLock(this.redis, retentionLockKey(), LOCK_MS));
    if (lock === undefined) throw new RetentionBusyError();
    try {
      return this.#logged(await this.#run(options));
    } finally {
      await lock.release().catch(() => undefined); // it expires on its own
    }
  }

  /**
   * Every real deletion is logged with its policy and reason, whoever asked for the run
   * (schedule, endpoint, command): the log is the audit trail. A dry run logs its totals only.
   */
  #logged(report: RetentionReport): RetentionReport {
    if (!report.dryRun) {
      for (const entry of report.deleted) {
        this.logger.info({ retention: entry }, 'retention deleted');
      }
      for (const entry of report.skipped) this.logger.info({ retention: entry }, 'retention kept');
      for (const failure of report.failed) {
        this.logger.warn({ retention: failure }, 'retention failed');
      }
    }
    this.logger.info({ dryRun: report.dryRun, repositories: report.repositories,
      examined: report.examined, deleted: report.deleted.length,
      skipped: report.skipped.length, failed: report.failed.length }, 'retention run finished');
    return report;
  }

  async #run(options: RetentionRunOptions): Promise<RetentionReport> {
    const report: RetentionReport = { dryRun: options.dryRun,
      startedAt: new Date().toISOString(), repositories: 0, examined: 0, deleted: [],
      skipped: [], failed: [] };

    for (const repository of await this.index.repositories()) {
      if (options.repository !== undefined && repository !== options.repository) continue;
      const policies = this.policies.filter((policy) => policy.repository.matches(repository));
      if (policies.length === 0) continue;

      report.repositories++;
      await this.#runRepository(repository, policies, options.dryRun, report).catch(
        (error: unknown) => report.failed.push({ repository, digest: undefined,
          message: error instanceof Error ? error.message : String(error) }));
    }
    return report;
  }

  async #runRepository(
    repository: string,
    policies: readonly RetentionPolicy[],
    dryRun: boolean,
    report: RetentionReport,
  ): Promise<void> {
    const refusal = await this.#probeAccess(repository);
    if (refusal !== undefined) {
      report.failed.push({ repository, digest: undefined, message: refusal });
      return;
    }

    const now = Date.now();
    const facts = await this.#facts(repository, policies, dryRun, now);
    report.examined += facts.length;
    const expiries = planRetention(policies, facts, now);
    if (expiries.length === 0) return;

    const locked = await lockedManifests(this.request, this.origin, repository,
      await this.tagLocks.rules());
    if (!(locked instanceof Map)) {
      report.failed.push({ repository, digest: undefined,
        message: `the registry answered ${locked.status} to the tag listing` });
      return;
    }
    await this.#expire(repository, expiries, locked, dryRun, report);
  }

  /** The proxy's own access must let it read the repository, so a 404 proves a delete. */
  async #probeAccess(repository: string): Promise<string | undefined> {
    const { allowed, response } = await probeAccess(this.request, repository);
    return allowed ? undefined : `the registry refused the proxy's own access (${response.status})`;
  }

  async #facts(
    repository: string,
    policies: readonly RetentionPolicy[],
    dryRun: boolean,
    now: number,
  ): Promise<ReferrerFacts[]> {
    const entries = await this.index.entries(repository);
    if (!dryRun) await this.#recordIndexedAt(repository, entries, now);
    const orphansAsked = policies.some((policy) => policy.orphanedForMs !== undefined);
    const missing = orphansAsked
      ? await this.#missingSubjects(repository, entries, dryRun, now)
      : new Map<string, number>();

    return entries.map((entry) => ({
      repository, subject: entry.subject, digest: entry.digest,
      ...descriptorFacts(entry.json),
      indexedAt: entry.indexedAt ?? now,
      subjectMissingSince: missing.get(entry.subject),
    }));
  }

  /** Entries indexed before the proxy kept the time start their age now. */
  async #recordIndexedAt(repository: string, entries: readonly IndexEntry[], now: number)
    : Promise<void> {
    const unknown = entries.filter((entry) => entry.indexedAt === undefined);
    if (unknown.length === 0) return;
    const transaction = this.redis.multi();
    for (const entry of unknown) transaction.hsetnx(indexedAtKey(repository), entry.digest, now);
    await guard('index write', () => transaction.exec());
  }

  /**
   * subject → since when it is missing, for subjects the registry answers 404 for. Any other
   * answer counts as present: doubt never makes a referrer an orphan.
   */
  async #missingSubjects(
    repository: string,
    entries: readonly IndexEntry[],
    dryRun: boolean,
    now: number,
  ): Promise<Map<string, number>> {
    const subjects = [...new Set(entries.map((entry) => entry.subject))];
    const statuses = await inBatches(subjects, LOOKUPS_AT_ONCE, (subject) => this.request('HEAD',
      `/v2/${repository}/manifests/${subject}`, { accept: MANIFEST_ACCEPT })
      .then((response) => response.status));

    const key = subjectMissingKey(repository);
    const recorded = await guard('index read', () => this.redis.hgetall(key));
    const missing = new Map<string, number>();
    const changes = this.redis.multi();
    // A subject left without referrers has no orphans to time: its record goes, so a later
    // orphan of the same digest starts a grace period of its own.
    const listed = new Set(subjects);
    for (const subject of Object.keys(recorded)) {
      if (!listed.has(subject)) changes.hdel(key, subject);
    }
    subjects.forEach((subject, n) => {
      if (statuses[n] !== 404) {
        if (recorded[subject] !== undefined) changes.hdel(key, subject);
        return;
      }
      const since = Number(recorded[subject] ?? now);
      missing.set(subject, since);
      if (recorded[subject] === undefined) changes.hset(key, subject, now);
    });
    if (!dryRun) await guard('index write', () => changes.exec());
    else changes.discard();
    return missing;
  }

  async #expire(
    repository: string,
    expiries: readonly Expiry[],
    locked: ReadonlyMap<string, LockedBy>,
    dryRun: boolean,
    report: RetentionReport,
  ): Promise<void> {
    const done = new Set<string>();
    for (const expiry of expiries) {
      if (done.has(expiry.referrer.digest)) continue; // deleted with a referrer it refers to
      const steps = this.cascade === 'off'
        ? [{ digest: expiry.referrer.digest, subject: expiry.referrer.subject }]
        : await planCascade(this.index, repository, expiry.referrer.digest);
      const entry = entryOf(expiry, steps);

      const blocked = steps.find((step) => locked.has(step.digest));
      if (blocked !== undefined) {
        const by = locked.get(blocked.digest);
        report.skipped.push({ ...entry, reason: `protected by tag lock "${by?.rule}" `
          + `(tag ${by?.tag} points to ${blocked.digest})` });
        continue;
      }

      if (!dryRun && !await this.#delete(repository, steps, report)) continue;
      for (const step of steps) done.add(step.digest);
      report.deleted.push(entry);
    }
  }

  async #delete(repository: string, steps: readonly CascadeStep[], report: RetentionReport)
    : Promise<boolean> {
    const outcome = await runCascade(steps, (step) => this.deleter.delete(repository,
      step.digest, () => this.#sendDelete(repository, step.digest), { notFoundMeansGone: true }));
    if (outcome.failure === undefined) return true;

    const { step, response, error } = outcome.failure;
    const message = response === undefined
      ? `the delete broke off: ${error instanceof Error ? error.message : String(error)}`
      : `the registry answered ${response.status} to the delete`;
    report.failed.push({ repository, digest: step.digest, message });
    return false;
  }

  #sendDelete(repository: string, digest: string): Promise<UpstreamResponse> {
    return this.request('DELETE', `/v2/${repository}/manifests/${digest}`, {});
  }
}

function entryOf(expiry: Expiry, steps: readonly CascadeStep[]): RetentionEntry {
  const { repository, digest, subject, artifactType } = expiry.referrer;
  return { repository, digest, subject, artifactType, policy: expiry.policy,
    reason: expiry.reason, cascade: steps.slice(0, -1).map((step) => step.digest) };
}
