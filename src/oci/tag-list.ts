// Tag listing (distribution-spec v1.1.1 "Listing Tags"): lexical order, `n` to cap the count,
// `last` to continue strictly after a tag, `Link` with rel="next" when more follow. Registry
// 2.8 ignores n and last and answers in no particular order, so the proxy pages itself.

export interface TagQuery {
  readonly n: number | undefined;
  readonly last: string | undefined;
}

export interface TagPage {
  readonly tags: readonly string[];
  /** Present when tags remain after this page. */
  readonly nextLast: string | undefined;
}

/** Parses n and last; undefined n means "all". Returns undefined for an invalid n. */
export function parseTagQuery(search: string): TagQuery | undefined {
  const params = new URLSearchParams(search);
  const n = params.get('n');
  const last = params.get('last') ?? undefined;
  if (n === null || n === '') return { n: undefined, last };
  if (!/^\d{1,9}$/.test(n)) return undefined;
  return { n: Number(n), last };
}

/** Orders, cuts after `last` and caps at `n` (n = 0 gives an empty page without a next). */
export function pageTags(tags: readonly string[], query: TagQuery): TagPage {
  const ordered = [...new Set(tags)].sort();
  const after = query.last === undefined
    ? ordered
    : ordered.filter((tag) => tag > (query.last ?? ''));
  if (query.n === undefined || after.length <= query.n) return { tags: after, nextLast: undefined };

  const page = after.slice(0, query.n);
  return { tags: page, nextLast: page.length === 0 ? undefined : page.at(-1) };
}

export function nextTagsLink(repository: string, n: number, last: string): string {
  const query = `n=${n}&last=${encodeURIComponent(last)}`;
  return `</v2/${repository}/tags/list?${query}>; rel="next"`;
}
