// `npm run bench`: measures the proxy against the registry it fronts, in one run, on
// loopback. Starts its own Redis, registry 2.8 and proxy; prints a table of figures with each
// target and whether it is met, and writes the same as JSON (bench/results.json). Not a test:
// ratios hold on a noisy machine, absolute times are for reading only.
//
// BENCH_BLOB_MIB (default 1024) sets the blob size; BENCH_SECONDS (default 5) the length of
// each load run; BENCH_SCALE (default 1000000) the referrers loaded for the index-scale figure;
// BENCH_ONLY a comma list of the groups to run. BENCH_PROXY_ARGS adds node flags to the proxy
// processes (e.g. --cpu-prof).

import { writeFile } from 'node:fs/promises';
import { artifactManifest, descriptorOf, randomImage } from '../test/support/oci-layout.js';
import { spawnProxy, type ProxyProcess } from '../test/support/proxy-process.js';
import { startRedis, type RedisServer } from '../test/support/redis.js';
import { startRegistry, type Registry } from '../test/support/registry.js';
import { pushBlob, pushImage, pushManifest } from '../test/support/registry-client.js';
import { measureBlobs } from './blobs.js';
import { measureIndexScale } from './index-scale.js';
import { closedLoop, load, type LoadResult } from './load.js';
import { loadReferrers } from './seed.js';

export interface Figure {
  readonly name: string;
  readonly direct: string;
  readonly proxy: string;
  readonly value: number;
  readonly target: string;
  readonly met: boolean;
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? 1024);
const SCALE = Number(process.env.BENCH_SCALE ?? 1_000_000);
/** BENCH_ONLY=referrers,pushes runs only those groups of figures. */
const GROUPS = 'blobs,manifests,referrers,pushes,scale';
const ONLY = new Set((process.env.BENCH_ONLY ?? GROUPS).split(','));
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function main(): Promise<void> {
  const redis = await startRedis({ appendonly: false });
  const registry = await startRegistry();
  // The read figures use a proxy without mirror and pins: 9,900 of the 10,000 referrers are
  // loaded straight into the index and do not exist in the registry, which the mirror would
  // (rightly) unlist. The push figure uses the default proxy, mirror included.
  const readFlags = ['--log-level', 'error', '--mirror', 'off', '--pin-referrers', 'off'];
  const reads = await spawnProxy(registry.url, redis.url, readFlags);
  // The same without its page cache: what a page costs when it is read from Redis each time.
  const uncached = await spawnProxy(registry.url, redis.url, [...readFlags,
    '--referrers-cache-bytes', '0']);
  const pushes = await spawnProxy(registry.url, redis.url, ['--log-level', 'error']);
  const variants = ONLY.has('blobs') ? await blobVariants(registry, redis) : [];
  const figures: Figure[] = [];
  try {
    if (ONLY.has('blobs')) {
      const [workers, redirect] = variants as [ProxyProcess, ProxyProcess];
      figures.push(...await measureBlobs(registry.url, { single: reads, workers, redirect },
        BLOB_MIB));
    }
    if (ONLY.has('manifests')) figures.push(...await measureManifests(registry, reads));
    if (ONLY.has('referrers')) {
      figures.push(...await measureReferrers(registry, { reads, uncached }, redis));
    }
    if (ONLY.has('pushes')) figures.push(...await measurePushes(registry, pushes));
    if (ONLY.has('scale')) figures.push(...await measureIndexScale(redis.url, SCALE));
  } finally {
    await Promise.all([reads, uncached, pushes, ...variants].map((proxy) =>
      proxy.child.stop(3000)));
    await Promise.all([registry.stop(), redis.stop()]);
  }
  report(figures);
}

/** The other ways to run the proxy for blobs: worker processes, and blob redirect mode. */
async function blobVariants(registry: Registry, redis: RedisServer): Promise<ProxyProcess[]> {
  const quiet = ['--log-level', 'error', '--mirror', 'off', '--pin-referrers', 'off'];
  return Promise.all([
    spawnProxy(registry.url, redis.url, [...quiet, '--workers', '2']),
    spawnProxy(registry.url, redis.url, [...quiet, '--blob-redirect', registry.url]),
  ]);
}

async function measureManifests(registry: Registry, proxy: ProxyProcess): Promise<Figure[]> {
  const image = randomImage({ layerCount: 2 });
  await pushImage(registry.url, 'bench/manifest', 'v1', image);
  const figures: Figure[] = [];
  for (const method of ['HEAD', 'GET'] as const) {
    const generator = method === 'HEAD' ? closedLoop : load;
    for (const connections of [1, 16, 64]) {
      const options = { method, path: '/v2/bench/manifest/manifests/v1', connections,
        seconds: SECONDS, headers: { accept: OCI_MANIFEST } };
      const direct = await generator(registry.url, options);
      const proxied = await generator(proxy.url, options);
      figures.push(ratioFigure(`manifest ${method} c=${connections} req/s`, direct, proxied,
        0.8));
    }
    const sequential = { method, path: '/v2/bench/manifest/manifests/v1', connections: 1,
      seconds: SECONDS, headers: { accept: OCI_MANIFEST } };
    figures.push(latencyFigure(`manifest ${method} c=1`,
      await closedLoop(registry.url, sequential), await closedLoop(proxy.url, sequential)));
  }
  return figures;
}

/** The referrers API against what clients do without it: read the tag-schema index. */
async function measureReferrers(
  registry: Registry,
  proxies: { reads: ProxyProcess; uncached: ProxyProcess },
  redis: RedisServer,
): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const count of [1, 100, 10_000]) {
    const { subject, tag } = await loadReferrers(registry, proxies.reads, redis,
      `bench/ref${count}`, count);
    const options = { connections: 16, seconds: SECONDS };
    const path = `/v2/bench/ref${count}/referrers/${subject}`;
    const proxied = await load(proxies.reads.url, { ...options, path });
    const direct = tag === undefined
      ? undefined
      : await load(registry.url, { ...options, path: `/v2/bench/ref${count}/manifests/${tag}`,
        headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
    figures.push(referrersFigure(`referrers ${count}`, direct, proxied, count === 100));
    if (count === 1) continue;
    const uncached = await load(proxies.uncached.url, { ...options, path });
    figures.push(referrersFigure(`referrers ${count} no page cache`, direct, uncached, false));
  }
  return figures;
}

function referrersFigure(
  name: string,
  direct: LoadResult | undefined,
  proxied: LoadResult,
  targeted: boolean,
): Figure {
  const ratio = direct === undefined ? Number.NaN : proxied.rps / direct.rps;
  return {
    name: `${name} req/s (direct: tag-schema read)`,
    direct: direct === undefined ? 'n/a (over 4 MiB)' : fmt(direct.rps),
    proxy: fmt(proxied.rps),
    value: ratio,
    target: targeted ? '>= 5x' : 'for reading',
    met: !targeted || ratio >= 5,
  };
}

/**
 * Pushes of manifests with a subject (mirror and pins on) against plain manifest pushes
 * straight to the registry. Each request carries a new id in an annotation, so every push is
 * a new manifest, as when many signatures or SBOMs are attached at once; both sides push by
 * tag, since the digest is not known before the id is filled in. The same manifest pushed
 * again and again is measured too, for reading: such pushes take turns on the digest lock.
 */
async function measurePushes(registry: Registry, proxy: ProxyProcess): Promise<Figure[]> {
  const image = randomImage();
  await pushImage(registry.url, 'bench/push', 'v1', image);
  const annotations = { 'bench.id': '[<id>]' };
  const artifact = artifactManifest({ subject: descriptorOf(image.manifest),
    artifactType: 'application/spdx+json', annotations });
  for (const blob of artifact.blobs) await pushBlob(registry.url, 'bench/push', blob);
  const plain = randomImage({ annotations });
  for (const blob of plain.blobs) await pushBlob(registry.url, 'bench/push', blob);

  const put = (body: Buffer, reference: string, uniqueBodies: boolean) => ({
    method: 'PUT' as const, connections: 16, seconds: SECONDS, body, uniqueBodies,
    path: `/v2/bench/push/manifests/${reference}`, headers: { 'content-type': OCI_MANIFEST } });
  const direct = await load(registry.url, put(plain.manifest.bytes, 'plain', true));
  const proxied = await load(proxy.url, put(artifact.manifest.bytes, 'sbom', true));
  const figures = [ratioFigure('push with subject c=16 req/s', direct, proxied, 0.7)];

  await pushManifest(proxy.url, 'bench/push', artifact.manifest.digest, artifact.manifest);
  const same = await load(proxy.url, put(artifact.manifest.bytes, artifact.manifest.digest,
    false));
  figures.push({ ...ratioFigure('push with subject, one digest c=16 req/s', direct, same, 0),
    target: 'for reading', met: true });
  return figures;
}

function ratioFigure(name: string, direct: LoadResult, proxied: LoadResult, target: number) {
  const value = proxied.rps / direct.rps;
  return { name, direct: fmt(direct.rps), proxy: fmt(proxied.rps), value,
    target: `>= ${target}`, met: value >= target };
}

function latencyFigure(name: string, direct: LoadResult, proxied: LoadResult): Figure {
  const added = proxied.p50Ms - direct.p50Ms;
  return { name: `${name} added median latency ms`, direct: fmt(direct.p50Ms),
    proxy: fmt(proxied.p50Ms), value: added, target: '< 0.5', met: added < 0.5 };
}

export function fmt(value: number): string {
  return Number.isFinite(value) ? value.toFixed(value >= 100 ? 0 : 2) : 'n/a';
}

function report(figures: readonly Figure[]): void {
  const rows = figures.map((f) => [f.name, f.direct, f.proxy, fmt(f.value), f.target,
    f.met ? 'yes' : 'NO']);
  const header = ['figure', 'direct', 'proxy', 'value', 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  }
  const results = { date: new Date().toISOString(), seconds: SECONDS, blobMiB: BLOB_MIB,
    scale: SCALE, figures };
  void writeFile(new URL('./results.json', import.meta.url), JSON.stringify(results, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
