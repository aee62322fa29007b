// The proxy as a child process (node --import tsx src/main.ts), for tests that kill it or read
// its memory from /proc.

import { freePort } from './ports.js';
import { launch, waitUntilServing, type ManagedProcess } from './process.js';

export interface ProxyProcess {
  readonly url: string;
  readonly child: ManagedProcess;
}

export async function spawnProxy(
  upstream: string,
  redis: string,
  flags: readonly string[] = [],
): Promise<ProxyProcess> {
  const port = await freePort();
  const nodeFlags = (process.env.BENCH_PROXY_ARGS ?? '').split(' ').filter((flag) => flag !== '');
  const child = launch('referrers-proxy', process.execPath, [...nodeFlags, '--import', 'tsx',
    'src/main.ts',
    '--upstream', upstream, '--redis', redis, '--listen', `127.0.0.1:${port}`,
    '--log-level', 'warn', ...flags]);
  await waitUntilServing(child, port, async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    return response?.status === 200;
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
