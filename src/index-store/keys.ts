// The Redis key schema of the referrers index, in one place. Every key of a repository carries
// the repository name as a hash tag (`{...}`), so the keys one operation touches share a Redis
// Cluster hash slot and MULTI/EXEC works there too. Repository names cannot contain braces
// (distribution-spec name grammar), so the tag is unambiguous. `v1` versions the layout.

const PREFIX = 'rp:v1';

/** Sorted set of the referrer digests of one subject (all scores 0: ordered by digest). */
export function referrersKey(repository: string, subject: string): string {
  return `${PREFIX}:{${repository}}:referrers:${subject}`;
}

/** Hash: referrer digest → descriptor JSON, as the referrers API lists it. */
export function descriptorsKey(repository: string): string {
  return `${PREFIX}:{${repository}}:descriptors`;
}

/**
 * Hash: subject → change token, replaced by a never-reused value in every transaction that
 * changes the subject's list, so a page labelled with a token is exactly the list while the
 * token stands (page-cache.ts). A token, not a counter: a counter would start again after
 * Redis lost its data, and could then match a page cached before.
 */
export function subjectVersionsKey(repository: string): string {
  return `${PREFIX}:{${repository}}:subject-versions`;
}

/** Hash: referrer digest → subject digest, to find the list a deleted referrer belongs to. */
export function subjectsKey(repository: string): string {
  return `${PREFIX}:{${repository}}:subjects`;
}

/**
 * Hash: journal field → pending change, written before a push or delete is forwarded and
 * cleared once the outcome is known. What a crash leaves here is settled by recovery.
 */
export function pendingKey(repository: string): string {
  return `${PREFIX}:{${repository}}:pending`;
}

/** Field of one pending change in pendingKey: `add <digest>` or `remove <digest>`. */
export function journalField(op: 'add' | 'remove', digest: string): string {
  return `${op} ${digest}`;
}

/** Set of repositories that may have pending records (a global key, outside any hash tag). */
export function pendingRepositoriesKey(): string {
  return `${PREFIX}:pending-repositories`;
}

/**
 * Hash: subject → change counter of subjects whose mirror tag and pins must be brought in line
 * with the index. A sync clears a subject only if the counter did not move meanwhile, so a
 * change during a sync, or a sync cut short by a crash, leaves it marked.
 */
export function mirrorDirtyKey(repository: string): string {
  return `${PREFIX}:{${repository}}:mirror-dirty`;
}

/** Set of repositories that may have dirty subjects (a global key, outside any hash tag). */
export function mirrorRepositoriesKey(): string {
  return `${PREFIX}:mirror-repositories`;
}

/** Lock held by the one process writing the mirror of a subject. */
export function mirrorLockKey(repository: string, subject: string): string {
  return `${PREFIX}:{${repository}}:mirror-lock:${subject}`;
}

/** Hash: subject → digest of the index manifest the proxy last wrote under its referrers tag. */
export function mirrorWrittenKey(repository: string): string {
  return `${PREFIX}:{${repository}}:mirror-written`;
}

/** Set of referrer digests of one subject that carry a pin tag the proxy wrote. */
export function pinnedKey(repository: string, subject: string): string {
  return `${PREFIX}:{${repository}}:pinned:${subject}`;
}

/** Lock serializing pushes and deletes of one manifest digest across proxy processes. */
export function digestLockKey(repository: string, digest: string): string {
  return `${PREFIX}:{${repository}}:digest-lock:${digest}`;
}

/**
 * Hash: referrer digest → "<descriptor JSON bytes> <artifactType>", so a page can pick its
 * entries by size and filter by type in one HMGET, before reading any descriptor.
 */
export function entryMetaKey(repository: string): string {
  return `${PREFIX}:{${repository}}:entry-meta`;
}

export function entryMeta(jsonBytes: number, artifactType: string | undefined): string {
  return `${jsonBytes} ${artifactType ?? ''}`;
}

/** Set once the index has been built from the registry; its absence means Redis lost it. */
export function initializedKey(): string {
  return `${PREFIX}:initialized`;
}

/** Lock of the one process rebuilding the index. */
export function reindexLockKey(): string {
  return `${PREFIX}:reindex-lock`;
}

/** Hash: referrer digest → when the proxy first indexed it (ms): retention's fallback age. */
export function indexedAtKey(repository: string): string {
  return `${PREFIX}:{${repository}}:indexed-at`;
}

/** Set of repositories that hold indexed referrers (a global key), for retention runs. */
export function repositoriesKey(): string {
  return `${PREFIX}:repositories`;
}

/** Hash: subject digest → when a retention run first found it missing from the registry (ms). */
export function subjectMissingKey(repository: string): string {
  return `${PREFIX}:{${repository}}:subject-missing`;
}

/** Hash: rule name → tag lock rule JSON, the rules set through the administrative endpoint. */
export function tagLocksKey(): string {
  return `${PREFIX}:tag-locks`;
}

/** Lock of the one process running retention. */
export function retentionLockKey(): string {
  return `${PREFIX}:retention-lock`;
}
