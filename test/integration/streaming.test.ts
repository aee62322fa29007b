// Blobs stream through the proxy: a 1 GiB blob goes up and comes back down with the proxy's
// resident memory flat, and a transfer that stalls for seconds at a time is not cut. The proxy
// runs as its own process here so that its memory can be read from /proc.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { residentBytes, watchPeakMemory } from '../support/memory.js';
import type { ManagedProcess } from '../support/process.js';
import { spawnProxy } from '../support/proxy-process.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startRegistry, type Registry } from '../support/registry.js';

const MiB = 1024 * 1024;
const BIG_BLOB_BYTES = 1024 * MiB;
/** Allowed growth of the proxy's resident set while a 1 GiB blob passes through. */
const MEMORY_GROWTH_LIMIT = 64 * MiB;

let redis: RedisServer;
let registry: Registry;
let proxy: ManagedProcess;
let proxyUrl: string;

before(async () => {
  redis = await startRedis();
  registry = await startRegistry();
  ({ child: proxy, url: proxyUrl } = await spawnProxy(registry.url, redis.url));
});
after(async () => {
  await proxy.stop(3000);
  await Promise.all([registry.stop(), redis.stop()]);
});



/** A body of `total` bytes made of one random MiB repeated, hashed as it is produced. */
function generatedBody(total: number, pauses: { everyBytes: number; ms: number } | undefined) {
  const chunk = randomBytes(MiB);
  const hash = createHash('sha256');
  async function* produce(): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < total; sent += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
      hash.update(part);
      yield part;
      if (pauses !== undefined && (sent + part.length) % pauses.everyBytes === 0) {
        await sleep(pauses.ms);
      }
    }
  }
  return { stream: produce(), digest: () => `sha256:${hash.digest('hex')}` };
}

async function uploadBlob(repo: string, total: number, pause?: { everyBytes: number; ms: number }) {
  const opened = await fetch(`${proxyUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await opened.body?.cancel();
  assert.equal(opened.status, 202);

  const body = generatedBody(total, pause);
  const session = new URL(opened.headers.get('location') ?? '', proxyUrl);
  const patched = await fetch(session, {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream' },
    body: Readable.toWeb(Readable.from(body.stream)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
  await patched.body?.cancel();
  assert.equal(patched.status, 202);

  const digest = body.digest();
  const done = new URL(patched.headers.get('location') ?? '', proxyUrl);
  done.searchParams.set('digest', digest);
  const closed = await fetch(done, { method: 'PUT' });
  await closed.body?.cancel();
  assert.equal(closed.status, 201);
  return digest;
}

/** Downloads through the proxy, hashing as it reads, optionally stalling between reads. */
async function downloadDigest(repo: string, digest: string, stallMs = 0): Promise<string> {
  const response = await fetch(`${proxyUrl}/v2/${repo}/blobs/${digest}`);
  assert.equal(response.status, 200);
  const hash = createHash('sha256');
  let reads = 0;
  for await (const part of response.body ?? []) {
    hash.update(part);
    if (stallMs > 0 && ++reads % 64 === 0) await sleep(stallMs);
  }
  return `sha256:${hash.digest('hex')}`;
}

describe('streaming a 1 GiB blob', () => {
  it('goes up and comes back intact while the proxy memory stays flat', async () => {
    const pid = proxy.pid;
    assert.ok(pid !== undefined);
    const baseline = await residentBytes(pid);

    const memory = watchPeakMemory(pid);
    const digest = await uploadBlob('stream/big', BIG_BLOB_BYTES);
    assert.equal(await downloadDigest('stream/big', digest), digest);
    const peak = await memory.stop();

    const growth = peak - baseline;
    assert.ok(growth < MEMORY_GROWTH_LIMIT,
      `proxy RSS grew by ${(growth / MiB).toFixed(1)} MiB`
      + ` (baseline ${(baseline / MiB).toFixed(1)} MiB)`);
  });
});

describe('a slow transfer', () => {
  it('is not cut while the client stalls for seconds in both directions', async () => {
    const stall = { everyBytes: 4 * MiB, ms: 2500 };
    const digest = await uploadBlob('stream/slow', 12 * MiB, stall);
    assert.equal(await downloadDigest('stream/slow', digest, 2500), digest);
  });
});

/** Established TCP connections to a local port, from /proc/net/tcp (state 01). */
async function connectionsTo(port: number): Promise<number> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const remotePort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').filter((row) => {
    const fields = row.trim().split(/\s+/);
    return fields[2]?.endsWith(remotePort) === true && fields[3] === '01';
  }).length;
}

/** Starts a download through the proxy and drops the connection after the first chunk. */
function abortedDownload(path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(`${proxyUrl}${path}`, { agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
      res.once('end', resolve);
    });
    req.once('error', () => resolve());
    req.end();
  });
}

describe('clients that abandon downloads', () => {
  // Regression: each abandoned download kept its upstream socket, until the pool's 256 sockets
  // were all held and every pass-through request hung.
  it('free their upstream connection', async () => {
    const digest = await uploadBlob('stream/abandoned', 8 * MiB);
    const path = `/v2/stream/abandoned/blobs/${digest}`;
    for (let round = 0; round < 60; round++) await abortedDownload(path);

    let open = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 50 && open >= 20; attempt++) {
      await sleep(100);
      open = await connectionsTo(registry.port);
    }
    assert.ok(open < 20, `${open} connections to the registry still open after 60 aborts`);
    assert.equal(await downloadDigest('stream/abandoned', digest), digest);
  });
});
