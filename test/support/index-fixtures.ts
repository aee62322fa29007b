// Referrers written straight into the index, for tests of how pages are read back. Writes go
// through ReferrersIndex.add, many at once (ioredis sends them without waiting in between).

import type { RedisConnection } from '../../src/index-store/connection.js';
import { ReferrersIndex } from '../../src/index-store/referrers-index.js';
import { renderIndexBytes } from '../../src/oci/referrers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The n-th fake referrer digest; digests sort as their numbers do. */
export function fakeDigest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

/** Indexes referrers 0..count-1 of `subject`, typed by `typeOf`. */
export async function indexFakeReferrers(
  redis: RedisConnection,
  repository: string,
  subject: string,
  count: number,
  typeOf: (n: number) => string,
): Promise<void> {
  const index = new ReferrersIndex(redis);
  for (let start = 0; start < count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - start) }, (_, i) => start + i);
    await Promise.all(batch.map((n) => index.add(repository, { subject,
      descriptor: { mediaType: OCI_MANIFEST, digest: fakeDigest(n), size: 500 + n,
        artifactType: typeOf(n) } })));
  }
}

export interface ReadPage {
  readonly digests: string[];
  readonly bytes: number;
  readonly continueAfter: string | undefined;
}

/** One page as the API would send it, parsed back. */
export async function readPage(
  index: ReferrersIndex,
  repository: string,
  subject: string,
  query: { artifactTypes: string[]; last?: string },
  bound: number,
): Promise<ReadPage> {
  const page = await index.page(repository, subject,
    { artifactTypes: query.artifactTypes, last: query.last }, bound);
  const body = renderIndexBytes(page.manifests);
  const parsed = JSON.parse(body.toString()) as { manifests: { digest: string }[] };
  return { digests: parsed.manifests.map((m) => m.digest), bytes: body.length,
    continueAfter: page.continueAfter };
}

/** Follows continueAfter from the first page to the last. */
export async function readAllPages(
  index: ReferrersIndex,
  repository: string,
  subject: string,
  artifactTypes: string[],
  bound: number,
): Promise<ReadPage[]> {
  const pages: ReadPage[] = [];
  let last: string | undefined;
  do {
    const page = await readPage(index, repository, subject,
      { artifactTypes, ...(last === undefined ? {} : { last }) }, bound);
    pages.push(page);
    last = page.continueAfter;
  } while (last !== undefined && pages.length < 10_000);
  return pages;
}
