// Blob throughput through the proxy against the registry direct, one stream and eight at
// once, for each way of running the proxy (one process, worker processes, blob redirect mode),
// with the single process's peak resident memory while it carries them.

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { residentBytes, watchPeakMemory } from '../test/support/memory.js';
import type { ProxyProcess } from '../test/support/proxy-process.js';
import type { Figure } from './run.js';
import { fmt } from './run.js';

const MiB = 1024 * 1024;

/** The proxies blobs are measured through, by the label their figures carry. */
export interface BlobProxies {
  /** One process, blobs streamed: the default. */
  readonly single: ProxyProcess;
  /** `--workers 2`. */
  readonly workers: ProxyProcess;
  /** `--blob-redirect <registry>`: the client follows the 307, and the whole GET is timed. */
  readonly redirect: ProxyProcess;
}

export async function measureBlobs(registry: string, proxies: BlobProxies, blobMiB: number)
  : Promise<Figure[]> {
  const pid = proxies.single.child.pid ?? 0;
  const baseline = await residentBytes(pid);
  const memory = watchPeakMemory(pid);
  const figures: Figure[] = [];

  const digest = await upload(registry, 'bench/blob', blobMiB * MiB);
  const reads = [['', proxies.single], [' (workers 2)', proxies.workers],
    [' (redirect)', proxies.redirect]] as const;
  for (const [label, proxy] of reads) {
    for (const streams of [1, 8]) {
      const direct = await timed(() => parallel(streams, () => download(registry, digest)));
      const proxied = await timed(() => parallel(streams, () => download(proxy.url, digest)));
      figures.push(throughput(`blob GET ${blobMiB} MiB x${streams}${label} MB/s`,
        streams * blobMiB, direct, proxied));
    }
  }
  for (const [label, proxy] of reads.slice(0, 2)) {
    for (const streams of [1, 8]) {
      const each = (blobMiB * MiB) / streams;
      const direct = await timed(() => parallel(streams, () => upload(registry, 'bench/up',
        each)));
      const proxied = await timed(() => parallel(streams, () => upload(proxy.url, 'bench/up',
        each)));
      figures.push(throughput(`blob upload ${blobMiB} MiB in ${streams}${label} MB/s`, blobMiB,
        direct, proxied));
    }
  }

  const peak = await memory.stop();
  figures.push({ name: 'proxy RSS growth during blob transfers MB', direct: '-',
    proxy: fmt((peak - baseline) / MiB), value: (peak - baseline) / MiB, target: '< 150',
    met: peak - baseline < 150 * MiB });
  return figures;
}

function throughput(name: string, mib: number, directS: number, proxyS: number): Figure {
  const direct = (mib * MiB) / directS / 1e6;
  const proxied = (mib * MiB) / proxyS / 1e6;
  const ratio = proxied / direct;
  return { name, direct: fmt(direct), proxy: fmt(proxied), value: ratio, target: '>= 0.9',
    met: ratio >= 0.9 };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function parallel<T>(count: number, work: () => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, work));
}

/** Uploads `bytes` of generated content in one PATCH and returns its digest. */
async function upload(base: string, repo: string, bytes: number): Promise<string> {
  const opened = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await opened.body?.cancel();
  const chunk = randomBytes(MiB);
  const hash = createHash('sha256');
  async function* produce(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
      hash.update(part);
      yield part;
    }
  }
  const patched = await fetch(new URL(opened.headers.get('location') ?? '', base), {
    method: 'PATCH', headers: { 'content-type': 'application/octet-stream' },
    body: Readable.toWeb(Readable.from(produce())) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
  await patched.body?.cancel();

  const digest = `sha256:${hash.digest('hex')}`;
  const done = new URL(patched.headers.get('location') ?? '', base);
  done.searchParams.set('digest', digest);
  const closed = await fetch(done, { method: 'PUT' });
  await closed.body?.cancel();
  if (closed.status !== 201) throw new Error(`upload to ${base} answered ${closed.status}`);
  return digest;
}

/** fetch follows a 307 by itself (redirect mode), as container clients do. */
async function download(base: string, digest: string): Promise<void> {
  const response = await fetch(`${base}/v2/bench/blob/blobs/${digest}`);
  if (response.status !== 200) throw new Error(`GET blob from ${base}: ${response.status}`);
  for await (const part of response.body ?? []) void part;
}


