// One load run with autocannon against a base URL: requests per second and median latency.

import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface LoadOptions {
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
  readonly method?: 'GET' | 'HEAD' | 'PUT';
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** Replace each `[<id>]` in the body with a new id per request (distinct manifests). */
  readonly uniqueBodies?: boolean;
}

export interface LoadResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly errors: number;
}

export async function load(base: string, options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: base + options.path,
    method: options.method ?? 'GET',
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers,
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.uniqueBodies === true && options.body !== undefined
      ? { requests: [uniqueBodyRequest(options.body)] } : {}),
  });
  const failures = result.errors + result.timeouts + result.non2xx;
  if (result.requests.total === 0 || failures > result.requests.total / 100) {
    throw new Error(`${options.method ?? 'GET'} ${base}${options.path}: ${failures} failures`);
  }
  return { rps: result.requests.average, p50Ms: result.latency.p50, errors: failures };
}

/**
 * Fills `[<id>]` in the body with a new id per request. autocannon's own idReplacement
 * declares a Content-Length 27 bytes per id longer than its ids (24 bytes and more), so the
 * server waits for bytes that never come.
 */
function uniqueBodyRequest(body: Buffer): autocannon.Request {
  const template = body.toString();
  let sent = 0;
  return {
    setupRequest: (request) => ({ ...request,
      body: template.replaceAll('[<id>]', `${process.pid}-${sent++}`) }),
  };
}

/**
 * A closed-loop load of our own on an undici pool: `connections` workers each send the next
 * request when the last is answered. Used for HEAD, which autocannon 8 cannot measure (it
 * waits for a body a HEAD answer never has), and for microsecond latencies at c=1 (autocannon
 * reports whole milliseconds).
 */
export async function closedLoop(base: string, options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(base, { connections: options.connections });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + options.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const started = process.hrtime.bigint();
      const response = await pool.request({ path: options.path, method: options.method ?? 'GET',
        headers: options.headers ?? {} });
      await response.body.dump();
      if (response.statusCode >= 300) errors++;
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  await pool.close();

  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / options.seconds,
    p50Ms: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN, errors };
}
