// Where tag lock rules live: the policy file's rules, read once at start, and the rules set
// through the administrative endpoint, kept in Redis so every proxy process sharing it
// enforces them from the next request on.

import { PolicyInvalidError } from '../errors.js';
import type { RedisConnection } from '../index-store/connection.js';
import { guard } from '../index-store/guard.js';
import { tagLocksKey } from '../index-store/keys.js';
import { parseTagLock, tagLockJson, type TagLockRule } from './policy.js';

export class TagLockStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly fileRules: readonly TagLockRule[],
    /** Admin rules are read only while the endpoint is on (ADMIN_TOKEN set). */
    private readonly adminEnabled: boolean,
  ) {}

  /**
   * All rules, file rules first. While Redis cannot be read this throws (a retryable 503):
   * guessing that no admin rule exists would let a locked tag move.
   */
  async rules(): Promise<TagLockRule[]> {
    if (!this.adminEnabled) return [...this.fileRules];

    const stored = await guard('tag locks read', () => this.redis.hgetall(tagLocksKey()));
    const admin = Object.entries(stored).flatMap(([name, json]) => readStored(name, json));
    return [...this.fileRules, ...admin.sort((a, b) => (a.name < b.name ? -1 : 1))];
  }

  /** Adds or replaces an admin rule; a file rule's name is refused. True when it was new. */
  async put(rule: TagLockRule): Promise<boolean> {
    this.#refuseFileRule(rule.name);
    const { source: _source, ...stored } = tagLockJson(rule);
    const added = await guard('tag locks write', () =>
      this.redis.hset(tagLocksKey(), rule.name, JSON.stringify(stored)));
    return added === 1;
  }

  /** Removes an admin rule; false when there was none of that name. */
  async delete(name: string): Promise<boolean> {
    this.#refuseFileRule(name);
    const removed = await guard('tag locks write', () => this.redis.hdel(tagLocksKey(), name));
    return removed === 1;
  }

  #refuseFileRule(name: string): void {
    if (this.fileRules.some((rule) => rule.name === name)) {
      throw new PolicyInvalidError('name', `"${name}" is a rule of the policy file; edit it there`);
    }
  }
}

/** A stored rule that no longer parses is skipped rather than stopping every push. */
function readStored(name: string, json: string): TagLockRule[] {
  try {
    return [parseTagLock({ ...JSON.parse(json) as object, name }, name, 'admin')];
  } catch {
    return [];
  }
}
