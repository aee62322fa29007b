// Which manifests of a repository tag locks protect: those a locked tag points to. Read from
// the registry when needed (a delete by digest, a retention run), since tags can be written
// straight to the registry too; only tags some rule matches are looked up.

import type { UpstreamResponse } from '../upstream/client.js';
import { collectTags, tagDigest, type UpstreamRequest } from '../upstream/tags.js';
import { inBatches, LOOKUPS_AT_ONCE } from './batches.js';
import type { TagLockRule } from './policy.js';
import { lockingRule, rulesFor } from './tag-locks.js';

export interface LockedBy {
  readonly rule: string;
  readonly tag: string;
}

/** digest → the rule and tag that lock it; or the registry's refusal to relay. */
export async function lockedManifests(
  request: UpstreamRequest,
  origin: string,
  repository: string,
  rules: readonly TagLockRule[],
): Promise<Map<string, LockedBy> | UpstreamResponse> {
  const relevant = rulesFor(rules, repository);
  if (relevant.length === 0) return new Map();

  const tags = await collectTags(request, origin, repository);
  if (!Array.isArray(tags)) return tags.status === 404 ? new Map() : tags;
  const locked = tags.flatMap((tag) => {
    const rule = lockingRule(relevant, repository, tag);
    return rule === undefined ? [] : [{ rule: rule.name, tag }];
  });
  return digestsOf(request, repository, locked);
}

async function digestsOf(
  request: UpstreamRequest,
  repository: string,
  locked: readonly LockedBy[],
): Promise<Map<string, LockedBy> | UpstreamResponse> {
  const digests = await inBatches(locked, LOOKUPS_AT_ONCE, ({ tag }) =>
    tagDigest(request, repository, tag));

  const found = new Map<string, LockedBy>();
  for (const [n, digest] of digests.entries()) {
    if (typeof digest === 'object') return digest;
    const by = locked[n];
    if (digest !== undefined && by !== undefined && !found.has(digest)) found.set(digest, by);
  }
  return found;
}
