// Reading a request body that must be held whole (a manifest), never past a size cap or a
// deadline: a client that declares more bytes than it sends must not hold a request open
// forever (the server has no request timeout, for the sake of long blob transfers).

import type { IncomingMessage } from 'node:http';
import { BodyTimeoutError, ManifestTooLargeError } from '../errors.js';

export function readBodyCapped(
  req: IncomingMessage,
  limit: number,
  timeoutMs: number,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new ManifestTooLargeError(limit));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stop = (error?: Error): void => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError);
      // The rest of the body stays unread; the error answer closes the connection.
      if (error !== undefined) {
        req.pause();
        reject(error);
      }
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limit) return stop(new ManifestTooLargeError(limit));
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error): void => stop(error);
    const timer = setTimeout(() => stop(new BodyTimeoutError(timeoutMs)), timeoutMs);

    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}
