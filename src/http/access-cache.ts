// Remembers, briefly, that the registry let a caller pull from a repository, so a burst of
// referrers queries costs one access check instead of one each. Keys are HMACs of the caller's
// Authorization header and the repository under a key made at start, so no credential is
// kept; only "allowed" is remembered (a refusal always goes back to the registry), and a
// revoked right stops working within the lifetime of an entry.

import { createHmac, randomBytes } from 'node:crypto';

export class AccessCache {
  readonly #secret = randomBytes(32);
  /** Insertion order is age order: Map iterates oldest first. */
  readonly #allowed = new Map<string, number>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxEntries: number,
  ) {}

  key(authorization: string | undefined, repository: string): string {
    return createHmac('sha256', this.#secret)
      .update(`${authorization ?? ''}\n${repository}`)
      .digest('base64url');
  }

  isAllowed(key: string, now = Date.now()): boolean {
    const expires = this.#allowed.get(key);
    if (expires === undefined) return false;
    if (expires > now) return true;

    this.#allowed.delete(key);
    return false;
  }

  allow(key: string, now = Date.now()): void {
    if (this.lifetimeMs <= 0) return;
    this.#allowed.delete(key);
    this.#allowed.set(key, now + this.lifetimeMs);
    while (this.#allowed.size > this.maxEntries) {
      const oldest = this.#allowed.keys().next().value;
      if (oldest === undefined) break;
      this.#allowed.delete(oldest);
    }
  }

  get size(): number {
    return this.#allowed.size;
  }
}
