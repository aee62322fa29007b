// The lifecycle rules an operator writes: tag locks and retention policies, read from the
// policy file (JSON) and, for tag locks, from the administrative endpoint. Parsing is strict:
// an unknown field or a wrong type is refused with the field's path, because a typo in a
// retention policy could otherwise widen what it deletes.

import { PolicyInvalidError } from '../errors.js';
import { parseDuration, parseTimeBound, type TimeBound } from './duration.js';
import { compilePattern, isPatternText, type NamePattern } from './pattern.js';

export type RuleSource = 'file' | 'admin';

export interface TagLockRule {
  readonly name: string;
  readonly repository: NamePattern;
  readonly tag: NamePattern;
  readonly source: RuleSource;
}

export type AnnotationRange =
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'time'; readonly after?: TimeBound; readonly before?: TimeBound };

export interface AnnotationCondition {
  readonly key: string;
  readonly range: AnnotationRange;
}

export interface RetentionPolicy {
  readonly name: string;
  readonly repository: NamePattern;
  readonly artifactType: NamePattern | undefined;
  /** Keep the newest N per subject and artifactType; the older ones expire. */
  readonly keepNewest: number | undefined;
  /** Expire referrers older than this many milliseconds. */
  readonly olderThanMs: number | undefined;
  readonly annotation: AnnotationCondition | undefined;
  /** Expire referrers whose subject has been missing from the registry this long. */
  readonly orphanedForMs: number | undefined;
}

export interface PolicyDocument {
  readonly tagLocks: readonly TagLockRule[];
  readonly retention: readonly RetentionPolicy[];
}

const RULE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

type Fields = Readonly<Record<string, unknown>>;

/** Parses a whole policy file; names must be unique within each section. */
export function parsePolicyDocument(text: string): PolicyDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PolicyInvalidError('(file)', 'is not JSON');
  }

  const fields = objectAt(value, '(file)', ['tagLocks', 'retention']);
  const tagLocks = arrayAt(fields.tagLocks, 'tagLocks')
    .map((rule, n) => parseTagLock(rule, `tagLocks[${n}]`, 'file'));
  const retention = arrayAt(fields.retention, 'retention')
    .map((policy, n) => parseRetentionPolicy(policy, `retention[${n}]`));
  refuseDuplicateNames(tagLocks, 'tagLocks');
  refuseDuplicateNames(retention, 'retention');
  return { tagLocks, retention };
}

export function parseTagLock(value: unknown, path: string, source: RuleSource): TagLockRule {
  const fields = objectAt(value, path, ['name', 'repository', 'tag']);
  return {
    name: ruleName(fields.name, `${path}.name`),
    repository: patternAt(fields.repository, `${path}.repository`, 'path'),
    tag: patternAt(fields.tag, `${path}.tag`, 'flat'),
    source,
  };
}

/** The JSON form of a rule, as the administrative endpoint lists and stores it. */
export function tagLockJson(rule: TagLockRule): Record<string, string> {
  return { name: rule.name, repository: rule.repository.source, tag: rule.tag.source,
    source: rule.source };
}

export function parseRetentionPolicy(value: unknown, path: string): RetentionPolicy {
  const fields = objectAt(value, path, ['name', 'repository', 'artifactType', 'keepNewest',
    'olderThan', 'annotation', 'orphanedFor']);
  const policy: RetentionPolicy = {
    name: ruleName(fields.name, `${path}.name`),
    repository: fields.repository === undefined
      ? compilePattern('**', 'path')
      : patternAt(fields.repository, `${path}.repository`, 'path'),
    artifactType: optional(fields.artifactType, (v) =>
      patternAt(v, `${path}.artifactType`, 'flat')),
    keepNewest: optional(fields.keepNewest, (v) => countAt(v, `${path}.keepNewest`)),
    olderThanMs: optional(fields.olderThan, (v) => durationAt(v, `${path}.olderThan`)),
    annotation: optional(fields.annotation, (v) => annotationAt(v, `${path}.annotation`)),
    orphanedForMs: optional(fields.orphanedFor, (v) => durationAt(v, `${path}.orphanedFor`)),
  };

  const conditions = [policy.keepNewest, policy.olderThanMs, policy.annotation,
    policy.orphanedForMs];
  if (conditions.every((condition) => condition === undefined)) {
    // A policy with no condition would expire every referrer it selects.
    throw new PolicyInvalidError(path,
      'needs at least one of keepNewest, olderThan, annotation, orphanedFor');
  }
  return policy;
}

function annotationAt(value: unknown, path: string): AnnotationCondition {
  const fields = objectAt(value, path, ['key', 'min', 'max', 'after', 'before']);
  const key = stringAt(fields.key, `${path}.key`);
  const numeric = fields.min !== undefined || fields.max !== undefined;
  const temporal = fields.after !== undefined || fields.before !== undefined;
  if (numeric === temporal) {
    throw new PolicyInvalidError(path, 'needs min/max (numbers) or after/before (times)');
  }

  if (numeric) {
    const min = optional(fields.min, (v) => numberAt(v, `${path}.min`));
    const max = optional(fields.max, (v) => numberAt(v, `${path}.max`));
    if (min !== undefined && max !== undefined && min > max) {
      throw new PolicyInvalidError(path, 'min is larger than max: the range is empty');
    }
    return { key, range: { kind: 'number', min, max } };
  }

  const after = optional(fields.after, (v) => timeBoundAt(v, `${path}.after`));
  const before = optional(fields.before, (v) => timeBoundAt(v, `${path}.before`));
  if (after?.kind === 'fixed' && before?.kind === 'fixed' && after.at >= before.at) {
    throw new PolicyInvalidError(path, 'after is not earlier than before: the range is empty');
  }
  return { key, range: { kind: 'time', after, before } };
}

function refuseDuplicateNames(rules: readonly { name: string }[], path: string): void {
  const seen = new Set<string>();
  for (const { name } of rules) {
    if (seen.has(name)) throw new PolicyInvalidError(path, `name "${name}" is used twice`);
    seen.add(name);
  }
}

function objectAt(value: unknown, path: string, allowed: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PolicyInvalidError(path, 'must be a JSON object');
  }
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) {
    throw new PolicyInvalidError(`${path}.${unknown}`, `unknown field (known: ${allowed})`);
  }
  return value as Fields;
}

function arrayAt(value: unknown, path: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new PolicyInvalidError(path, 'must be an array');
  return value;
}

function optional<T>(value: unknown, parse: (value: unknown) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 255) {
    throw new PolicyInvalidError(path, 'must be a string of 1 to 255 characters');
  }
  return value;
}

/** A rule's name, checked: `path` names where it came from in errors. */
export function ruleName(value: unknown, path: string): string {
  const text = stringAt(value, path);
  if (!RULE_NAME.test(text)) {
    throw new PolicyInvalidError(path, 'must match [a-z0-9][a-z0-9._-]{0,63}');
  }
  return text;
}

function patternAt(value: unknown, path: string, kind: 'path' | 'flat'): NamePattern {
  const text = stringAt(value, path);
  if (!isPatternText(text)) {
    throw new PolicyInvalidError(path, 'may hold only name characters and the wildcards * ?');
  }
  return compilePattern(text, kind);
}

function countAt(value: unknown, path: string): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 1_000_000) {
    throw new PolicyInvalidError(path, 'must be an integer from 1 to 1000000');
  }
  return value as number;
}

function numberAt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PolicyInvalidError(path, 'must be a number');
  }
  return value;
}

function durationAt(value: unknown, path: string): number {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms === 0) {
    throw new PolicyInvalidError(path, 'must be a duration such as "90m", "12h", "30d", "2w"');
  }
  return ms;
}

function timeBoundAt(value: unknown, path: string): TimeBound {
  const bound = typeof value === 'string' ? parseTimeBound(value) : undefined;
  if (bound === undefined) {
    throw new PolicyInvalidError(path, 'must be an RFC 3339 date-time, "now" or "now-30d"');
  }
  return bound;
}
