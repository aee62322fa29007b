// Rebuilds the referrers index from what the registry holds: the index is derived data
// (design.md, "Shape"). Walks the catalog and every tag; indexes each manifest that carries a
// subject; reads referrers tags (written by the proxy's mirror or, before the proxy arrived,
// by clients) and indexes the entries that check out (distribution-spec "Enabling the
// Referrers API": pre-existing tag-schema entries whose subject is valid MUST be listed).
// Given the registry's storage root it also reads untagged manifests. Only adds: nothing is
// deleted from the registry, and nothing the proxy did not write is touched.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UpstreamInvalidError } from './errors.js';
import type { ReferrersIndex } from './index-store/referrers-index.js';
import { parseDigest } from './oci/digest.js';
import type { Referrer } from './oci/manifest.js';
import { descriptorsOfIndex } from './oci/referrers.js';
import { isReferrersTag, referrersTag } from './oci/referrers-tag.js';
import type { UpstreamClient } from './upstream/client.js';
import { fetchManifest, referrerOf, type FetchedManifest } from './upstream/manifests.js';

export interface ReindexOptions {
  /** Only this repository; otherwise every repository in the catalog. */
  readonly repository?: string;
  /** The registry's filesystem storage root, to find untagged manifests too. */
  readonly storageRoot?: string;
  readonly onProgress?: (progress: Readonly<ReindexProgress>) => void;
  /** Stops the walk between manifests (shutdown). */
  readonly signal?: AbortSignal;
}

export interface ReindexProgress {
  repositories: number;
  repositoriesDone: number;
  manifestsRead: number;
  referrersIndexed: number;
  /** Referrers-tag entries left out: missing, not a referrer, or of another subject. */
  entriesRejected: number;
  current: string;
}

const MAX_PAGES = 10_000;

type Fetched = FetchedManifest;

export class Reindexer {
  constructor(
    private readonly index: ReferrersIndex,
    /** The proxy's own access to the registry (its credentials, when configured). */
    private readonly upstream: Pick<UpstreamClient, 'send'>,
  ) {}

  async run(options: ReindexOptions = {}): Promise<ReindexProgress> {
    const repositories = options.repository === undefined
      ? await listAll(this.upstream, '/v2/_catalog?n=1000', 'repositories')
      : [options.repository];
    const progress: ReindexProgress = { repositories: repositories.length, repositoriesDone: 0,
      manifestsRead: 0, referrersIndexed: 0, entriesRejected: 0, current: '' };

    for (const repository of repositories) {
      options.signal?.throwIfAborted();
      progress.current = repository;
      options.onProgress?.(progress);
      await new RepositoryWalk(this.index, this.upstream, repository, progress, options.signal)
        .run(options.storageRoot);
      progress.repositoriesDone++;
      options.onProgress?.(progress);
    }
    return progress;
  }
}

/** Every item of a paged listing (catalog or tags), following Link rel="next". */
async function listAll(
  upstream: Pick<UpstreamClient, 'send'>,
  first: string,
  field: 'repositories' | 'tags',
): Promise<string[]> {
  const items: string[] = [];
  let path: string | undefined = first;
  for (let pages = 0; path !== undefined && pages < MAX_PAGES; pages++) {
    const response = await upstream.send('GET', path, {});
    if (response.status === 404) return items;
    if (response.status !== 200) throw new UpstreamInvalidError(path, `status ${response.status}`);

    const listed = (JSON.parse(response.body.toString('utf8')) as Record<string, unknown>)[field];
    if (Array.isArray(listed)) items.push(...listed.filter((item) => typeof item === 'string'));
    const link = String(response.headers.link ?? '');
    path = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1];
  }
  return items;
}

/** One repository's walk: tags first, then untagged manifests, then referrers-tag entries. */
class RepositoryWalk {
  /** What each manifest read so far turned out to be: its referrer, or null for none. */
  readonly #read = new Map<string, Referrer | null>();
  /** Entries of referrers tags, with the tag that listed them, checked last. */
  readonly #listed: { digest: string; tag: string }[] = [];

  constructor(
    private readonly index: ReferrersIndex,
    private readonly upstream: Pick<UpstreamClient, 'send'>,
    private readonly repository: string,
    private readonly progress: ReindexProgress,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async run(storageRoot: string | undefined): Promise<void> {
    const tags = await listAll(this.upstream, `/v2/${this.repository}/tags/list`, 'tags');
    for (const tag of tags) await this.#visitTag(tag);

    if (storageRoot !== undefined) {
      for (const digest of await untaggedDigests(storageRoot, this.repository)) {
        await this.#referrer(digest);
      }
    }
    for (const { digest, tag } of this.#listed) await this.#checkListedEntry(digest, tag);
  }

  async #visitTag(tag: string): Promise<void> {
    const fetched = await this.#fetch(tag);
    if (fetched === undefined) return;

    if (isReferrersTag(tag)) this.#collectListed(tag, fetched);
    await this.#remember(fetched);
  }

  /** A referrers tag should hold an index; anything else there is not a referrers list. */
  #collectListed(tag: string, fetched: Fetched): void {
    for (const entry of descriptorsOfIndex(fetched.bytes) ?? []) {
      this.#listed.push({ digest: entry.digest, tag });
    }
  }

  /**
   * An entry counts only if its manifest exists here, is a referrer, and its subject's
   * referrers tag is the tag that listed it (so a tag cannot vouch for another subject).
   */
  async #checkListedEntry(digest: string, tag: string): Promise<void> {
    const referrer = await this.#referrer(digest);
    if (referrer === null || referrersTag(referrer.subject) !== tag) {
      this.progress.entriesRejected++;
    }
  }

  /** The referrer a digest names, reading (and indexing) it the first time it is asked for. */
  async #referrer(digest: string): Promise<Referrer | null> {
    if (!this.#read.has(digest)) {
      const fetched = await this.#fetch(digest);
      if (fetched === undefined) this.#read.set(digest, null);
      else await this.#remember(fetched);
    }
    return this.#read.get(digest) ?? null;
  }

  /** Records what a manifest is, and indexes it once if it is a referrer. */
  async #remember(fetched: Fetched): Promise<void> {
    if (this.#read.has(fetched.digest)) return;
    const referrer = referrerOf(fetched);
    this.#read.set(fetched.digest, referrer ?? null);
    if (referrer === undefined) return;

    await this.index.add(this.repository, referrer);
    this.progress.referrersIndexed++;
  }

  async #fetch(reference: string): Promise<Fetched | undefined> {
    this.signal?.throwIfAborted();
    const fetched = await fetchManifest(this.upstream, this.repository, reference);
    if (fetched !== undefined) this.progress.manifestsRead++;
    return fetched;
  }
}

/**
 * Digests of every manifest revision of a repository in a distribution 2.x filesystem store:
 * <root>/docker/registry/v2/repositories/<name>/_manifests/revisions/<alg>/<hex>/link.
 */
async function untaggedDigests(storageRoot: string, repository: string): Promise<string[]> {
  const revisions = join(storageRoot, 'docker', 'registry', 'v2', 'repositories',
    ...repository.split('/'), '_manifests', 'revisions');
  const digests: string[] = [];
  for (const algorithm of await readdirOrEmpty(revisions)) {
    for (const encoded of await readdirOrEmpty(join(revisions, algorithm))) {
      const digest = `${algorithm}:${encoded}`;
      if (parseDigest(digest) !== undefined) digests.push(digest);
    }
  }
  return digests;
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}
