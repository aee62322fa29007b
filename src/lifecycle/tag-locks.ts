// Which tag a lock rule protects. Tags of the referrers tag schema and the proxy's own pin
// tags are never locked: they must move whenever a signature, SBOM or attestation is attached,
// and a lock on them would stop exactly what locks must still allow.

import { isPinTag, isReferrersTag } from '../oci/referrers-tag.js';
import type { TagLockRule } from './policy.js';

/** The first rule that locks `tag` in `repository`, if any. */
export function lockingRule(
  rules: readonly TagLockRule[],
  repository: string,
  tag: string,
): TagLockRule | undefined {
  if (isReferrersTag(tag) || isPinTag(tag)) return undefined;
  return rules.find((rule) => rule.repository.matches(repository) && rule.tag.matches(tag));
}

/** The rules that can lock some tag of `repository`. */
export function rulesFor(rules: readonly TagLockRule[], repository: string): TagLockRule[] {
  return rules.filter((rule) => rule.repository.matches(repository));
}

/**
 * A locked tag may be pushed when it does not exist yet (the push creates it, and from then on
 * it is locked) or when the push carries the bytes it already points to.
 */
export function mayPushLockedTag(current: string | undefined, pushed: string): boolean {
  return current === undefined || current === pushed;
}
