// Which referrers a set of retention policies expires, and why. Pure: the runner gathers the
// facts (from the index and the registry) and carries out the plan; a dry run prints the same
// plan, so what a dry run reports is what a real run deletes.

import { parseDateTime, resolveTimeBound } from './duration.js';
import type { AnnotationCondition, RetentionPolicy } from './policy.js';

/** image-spec annotations.md: the date and time the artifact was built, RFC 3339. */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

export interface ReferrerFacts {
  readonly repository: string;
  readonly subject: string;
  readonly digest: string;
  readonly artifactType: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
  /** When the proxy first indexed the referrer (ms since the epoch). */
  readonly indexedAt: number;
  /** Since when the subject has been seen missing from the registry, if it is missing. */
  readonly subjectMissingSince: number | undefined;
}

export interface Expiry {
  readonly referrer: ReferrerFacts;
  readonly policy: string;
  readonly reason: string;
}

/** The referrer's age reference: its created annotation, else when it was first indexed. */
function createdAt(referrer: ReferrerFacts): { at: number; from: string } {
  const text = referrer.annotations[CREATED_ANNOTATION];
  const at = text === undefined ? undefined : parseDateTime(text);
  return at === undefined
    ? { at: referrer.indexedAt, from: 'first indexed' }
    : { at, from: CREATED_ANNOTATION };
}

/**
 * Every referrer some policy expires, once, under the first policy (in file order) that does;
 * sorted by repository, subject and digest.
 */
export function planRetention(
  policies: readonly RetentionPolicy[],
  referrers: readonly ReferrerFacts[],
  now: number,
): Expiry[] {
  const expired = new Map<string, Expiry>();
  for (const policy of policies) {
    for (const expiry of expiriesOf(policy, referrers, now)) {
      const key = `${expiry.referrer.repository}@${expiry.referrer.digest}`;
      if (!expired.has(key)) expired.set(key, expiry);
    }
  }
  return [...expired.values()].sort((a, b) => compareFacts(a.referrer, b.referrer));
}

function expiriesOf(
  policy: RetentionPolicy,
  referrers: readonly ReferrerFacts[],
  now: number,
): Expiry[] {
  const selected = referrers.filter((referrer) => selects(policy, referrer, now));
  const ranks = newestFirstRanks(selected);

  return selected.flatMap((referrer) => {
    const rank = ranks.get(referrer) ?? 0;
    const age = now - createdAt(referrer).at;
    if (policy.keepNewest !== undefined && rank < policy.keepNewest) return [];
    if (policy.olderThanMs !== undefined && age <= policy.olderThanMs) return [];
    return [{ referrer, policy: policy.name, reason: reasonOf(policy, referrer, rank) }];
  });
}

/** The conditions that pick a referrer before counting and age are considered. */
function selects(policy: RetentionPolicy, referrer: ReferrerFacts, now: number): boolean {
  if (!policy.repository.matches(referrer.repository)) return false;
  if (policy.artifactType !== undefined
    && !policy.artifactType.matches(referrer.artifactType ?? '')) return false;
  if (policy.annotation !== undefined && !inRange(policy.annotation, referrer, now)) return false;
  if (policy.orphanedForMs === undefined) return true;

  const since = referrer.subjectMissingSince;
  return since !== undefined && now - since >= policy.orphanedForMs;
}

/** A missing or unreadable annotation value is never in range: doubt keeps a referrer. */
function inRange(condition: AnnotationCondition, referrer: ReferrerFacts, now: number): boolean {
  const text = referrer.annotations[condition.key];
  if (text === undefined) return false;

  const { range } = condition;
  if (range.kind === 'number') {
    const value = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text.trim()) ? Number(text) : NaN;
    if (Number.isNaN(value)) return false;
    return (range.min === undefined || value >= range.min)
      && (range.max === undefined || value <= range.max);
  }

  const at = parseDateTime(text);
  if (at === undefined) return false;
  return (range.after === undefined || at > resolveTimeBound(range.after, now))
    && (range.before === undefined || at < resolveTimeBound(range.before, now));
}

/** Rank 0 is the newest of its subject and artifactType; ties fall to the larger digest. */
function newestFirstRanks(referrers: readonly ReferrerFacts[]): Map<ReferrerFacts, number> {
  const groups = new Map<string, ReferrerFacts[]>();
  for (const referrer of referrers) {
    const key = `${referrer.repository}@${referrer.subject}@${referrer.artifactType ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), referrer]);
  }

  const ranks = new Map<ReferrerFacts, number>();
  for (const group of groups.values()) {
    group.sort((a, b) => createdAt(b).at - createdAt(a).at || compare(b.digest, a.digest));
    group.forEach((referrer, rank) => ranks.set(referrer, rank));
  }
  return ranks;
}

function reasonOf(policy: RetentionPolicy, referrer: ReferrerFacts, rank: number): string {
  const reasons: string[] = [];
  if (policy.keepNewest !== undefined) {
    reasons.push(`${rank} newer of this subject and artifactType `
      + `(keepNewest ${policy.keepNewest})`);
  }
  if (policy.olderThanMs !== undefined) {
    const { at, from } = createdAt(referrer);
    reasons.push(`created ${new Date(at).toISOString()} (${from}), older than `
      + `${policy.olderThanMs / 1000} s`);
  }
  if (policy.annotation !== undefined) {
    const { key } = policy.annotation;
    reasons.push(`annotation ${key}=${JSON.stringify(referrer.annotations[key])} in range`);
  }
  if (policy.orphanedForMs !== undefined) {
    const since = new Date(referrer.subjectMissingSince ?? 0).toISOString();
    reasons.push(`subject missing from the registry since ${since}`);
  }
  return reasons.join('; ');
}

function compareFacts(a: ReferrerFacts, b: ReferrerFacts): number {
  return compare(a.repository, b.repository) || compare(a.subject, b.subject)
    || compare(a.digest, b.digest);
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** What retention needs of one stored descriptor: its artifactType and string annotations. */
export function descriptorFacts(json: string): Pick<ReferrerFacts, 'artifactType' | 'annotations'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { artifactType: undefined, annotations: {} };
  }

  const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as
    Record<string, unknown>;
  const artifactType = typeof fields.artifactType === 'string' ? fields.artifactType : undefined;
  const annotations: Record<string, string> = {};
  const raw = fields.annotations;
  if (typeof raw === 'object' && raw !== null) {
    for (const [key, value] of Object.entries(raw)) {
      if (typeof value === 'string') annotations[key] = value;
    }
  }
  return { artifactType, annotations };
}
