// Referrers pages this process read recently, each labelled with the subject's change token
// (keys.ts subjectVersionsKey). A page is served from here only after Redis confirmed, in the
// same script call that would otherwise build the page, that the token has not moved; so
// every proxy sharing the Redis sees a change at once, and a cached page is never stale.
// Bounded by the bytes it holds, keys and bookkeeping included; the least recently used pages
// go first.

export interface CachedPage<P> {
  readonly version: string;
  readonly page: P;
  readonly bytes: number;
}

/**
 * What an entry costs beyond its page: the Map slot, the entry object, the version string.
 * Counted so that empty pages (0 bytes of descriptors) under ever new keys cannot pile up: a
 * caller varying `artifactType` or `last` grew a cache limited to 0 bytes by 7 KB a query.
 */
const ENTRY_OVERHEAD_BYTES = 200;

export class PageCache<P> {
  /** Insertion order is use order: Map iterates oldest first, get() re-inserts. */
  readonly #pages = new Map<string, CachedPage<P>>();
  #bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): CachedPage<P> | undefined {
    const cached = this.#pages.get(key);
    if (cached === undefined) return undefined;
    this.#pages.delete(key);
    this.#pages.set(key, cached);
    return cached;
  }

  /** Keeps a page unless it alone would take more than a quarter of the cache. */
  set(key: string, version: string, page: P, pageBytes: number): void {
    this.#forget(key);
    // Strings are UTF-16 in V8: two bytes a character.
    const bytes = pageBytes + 2 * (key.length + version.length) + ENTRY_OVERHEAD_BYTES;
    if (this.maxBytes === 0 || bytes > this.maxBytes / 4) return;

    this.#pages.set(key, { version, page, bytes });
    this.#bytes += bytes;
    for (const oldest of this.#pages.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      this.#forget(oldest);
    }
  }

  get bytes(): number {
    return this.#bytes;
  }

  #forget(key: string): void {
    const cached = this.#pages.get(key);
    if (cached === undefined) return;
    this.#pages.delete(key);
    this.#bytes -= cached.bytes;
  }
}

/** One cache entry per distinct question: the same subject asked with another filter, cursor
 * or bound is another page. */
export function pageCacheKey(
  repository: string,
  subject: string,
  artifactTypes: readonly string[],
  last: string | undefined,
  boundBytes: number,
): string {
  return JSON.stringify([repository, subject, [...artifactTypes].sort(), last ?? '', boundBytes]);
}
