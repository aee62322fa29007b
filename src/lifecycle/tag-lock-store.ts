// Where tag lock rules live: the policy file's rules, read once at start, and the rules set
// through the administrative endpoint, kept in Redis so every proxy process sharing it (with
// or without ADMIN_TOKEN, and the retention command) enforces them from the next request on.

import { PolicyInvalidError } from '../errors.js';
import type { RedisConnection } from '../index-store/connection.js';
import { guard } from '../index-store/guard.js';
import { tagLocksKey } from '../index-store/keys.js';
import { parseTagLock, tagLockJson, type TagLockRule } from './policy.js';

export class TagLockStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly fileRules: readonly TagLockRule[],
  ) {}

  /** The admin rules of the last successful read, for while Redis cannot be reached. */
  #lastAdmin: TagLockRule[] | undefined;

  /** Compiled rules by their stored form: a push by tag reads the rules, it need not parse. */
  #compiled = new Map<string, TagLockRule[]>();

  /**
   * All rules, file rules first. While Redis cannot be read, the admin rules last read are
   * used; a process that never read them throws (a retryable 503) rather than guess that none
   * exist, which would let a locked tag move.
   */
  async rules(): Promise<TagLockRule[]> {
    return [...this.fileRules, ...await this.#adminRules()];
  }

  async #adminRules(): Promise<TagLockRule[]> {
    let stored: Record<string, string>;
    try {
      stored = await guard('tag locks read', () => this.redis.hgetall(tagLocksKey()));
    } catch (error) {
      if (this.#lastAdmin === undefined) throw error;
      return this.#lastAdmin;
    }

    const compiled = new Map<string, TagLockRule[]>();
    const admin = Object.entries(stored).flatMap(([name, json]) => {
      const key = `${name}\n${json}`;
      const rules = this.#compiled.get(key) ?? readStored(name, json);
      compiled.set(key, rules);
      return rules;
    });
    this.#compiled = compiled; // rules deleted or changed since the last read drop out
    this.#lastAdmin = admin.sort((a, b) => (a.name < b.name ? -1 : 1));
    return this.#lastAdmin;
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
