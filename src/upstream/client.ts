// The proxy's own calls to the upstream registry (manifest PUT and DELETE it intercepts,
// readiness). Streaming pass-through lives in passthrough.ts; this client reads whole, small
// bodies. Transport failures become UpstreamUnavailableError here and nowhere else.

import { Pool } from 'undici';
import { UpstreamUnavailableError } from '../errors.js';

export type HeaderMap = Record<string, string | string[]>;

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Buffer;
}

/** Upstream answers to intercepted requests are manifests or error bodies; cap what we hold. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export class UpstreamClient {
  readonly #pool: Pool;

  constructor(readonly origin: URL, ca?: Buffer) {
    // No body or headers timeout shorter than a slow registry may need for a manifest write.
    this.#pool = new Pool(origin.origin, { connections: 64, headersTimeout: 120_000,
      ...(ca === undefined ? {} : { connect: { ca } }) });
  }

  async send(
    method: string,
    path: string,
    headers: HeaderMap,
    body?: Buffer,
  ): Promise<UpstreamResponse> {
    try {
      const response = await this.#pool.request({ method, path, headers, body: body ?? null });
      const bytes = await readCapped(response.body, MAX_RESPONSE_BYTES);
      const received = flattenHeaders(response.headers);
      return { status: response.statusCode, headers: received, body: bytes };
    } catch (error) {
      throw new UpstreamUnavailableError(method, path, { cause: error });
    }
  }

  /** True while the upstream answers `GET /v2/` at all (401 still means it is up). */
  async ping(): Promise<boolean> {
    try {
      const response = await this.#pool.request({
        method: 'GET', path: '/v2/', headersTimeout: 5000,
      });
      await response.body.dump();
      return response.statusCode < 500;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

async function readCapped(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw new Error(`upstream response larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): HeaderMap {
  const flat: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = value;
  }
  return flat;
}
