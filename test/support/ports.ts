// Loopback ports and polling for servers the tests start themselves.

import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port that was free on 127.0.0.1 a moment ago; the caller binds it soon after. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);

    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * Polls check until it returns true. Returning false means "not yet"; throwing means "never"
 * (the child died, say) and ends the wait at once. On timeout the error names what was awaited
 * and adds details(), typically the child's captured output.
 */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
  details?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 20;

  while (!(await check())) {
    if (Date.now() >= deadline) {
      const extra = details?.().trim();
      const suffix = extra ? `\n--- captured output ---\n${extra}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
    }

    await sleep(pause);
    pause = Math.min(pause * 2, 250);
  }
}

/** Error a launcher throws when its child could not bind the port it was given. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly code = 'EADDRINUSE';

  constructor(readonly port: number, message: string) {
    super(message);
  }
}

/**
 * Runs start on a fresh free port, trying another one when the port was taken between
 * freePort() and the child's bind (another test file may have grabbed it).
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) throw err;
    }
  }
}
