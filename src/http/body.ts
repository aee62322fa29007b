// Reading a request body that must be held whole (a manifest), never past a cap.

import type { IncomingMessage } from 'node:http';
import { ManifestTooLargeError } from '../errors.js';

/** Reads the body, refusing as soon as the declared or received length passes `limit`. */
export async function readBodyCapped(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new ManifestTooLargeError(limit);

  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new ManifestTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
