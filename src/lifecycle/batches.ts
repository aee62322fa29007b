// Registry lookups of lifecycle work (tag digests, subject existence) run a few at a time: fast
// enough for thousands of tags, gentle enough for a registry serving clients meanwhile.

/** How many lookups run at once. */
export const LOOKUPS_AT_ONCE = 8;

/** `work` applied to every item, at most `size` at a time, results in item order. */
export async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...await Promise.all(items.slice(start, start + size).map(work)));
  }
  return results;
}
