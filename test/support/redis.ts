// A throwaway redis-server on a loopback port, with its own data dir, for integration tests.

import { connect } from 'node:net';

import { onFreePort } from './ports.js';
import {
  launch, makeTempDir, removeTempDir, RestartableServer, waitUntilServing, type ManagedProcess,
} from './process.js';

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Data dir; the append-only file lives here and survives restart(). */
  readonly dir: string;
  /** Recent log lines of the current redis-server process. */
  output(): string;
  /** Shuts redis down (SIGTERM, SIGKILL after 3 s) and removes its dir. */
  stop(): Promise<void>;
  /** Sends a signal without waiting, SIGKILL by default: a crash, for durability tests. */
  kill(signal?: NodeJS.Signals): void;
  /** Starts redis again on the same port and dir (after kill, or stopping it first). */
  restart(): Promise<void>;
}

export interface RedisOptions {
  /** Append-only file with fsync on every write (default true), so a crash loses no write. */
  appendonly?: boolean;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const appendonly = opts.appendonly ?? true;
  const dir = await makeTempDir('redis');

  try {
    return await onFreePort(async (port) => {
      const first = await launchRedis(port, dir, appendonly);
      return new RedisInstance(port, dir, appendonly, first);
    });
  } catch (err) {
    await removeTempDir(dir);
    throw err;
  }
}

class RedisInstance extends RestartableServer implements RedisServer {
  readonly url: string;

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly appendonly: boolean,
    first: ManagedProcess,
  ) {
    super(first, dir, () => launchRedis(port, dir, appendonly));
    this.url = `redis://127.0.0.1:${port}`;
  }
}

async function launchRedis(
  port: number,
  dir: string,
  appendonly: boolean,
): Promise<ManagedProcess> {
  const child = launch('redis-server', 'redis-server', redisArgs(port, dir, appendonly));

  // A restarted redis answers -LOADING until the append-only file is replayed; wait past it.
  await waitUntilServing(child, port, async () => (await pingRedis(port)) === '+PONG');
  return child;
}

function redisArgs(port: number, dir: string, appendonly: boolean): string[] {
  const durability = appendonly
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];

  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    // No RDB snapshots: the append-only file alone decides what survives a crash.
    '--save', '',
    ...durability,
    '--daemonize', 'no',
    // Log to stdout, which launch() captures for error messages.
    '--logfile', '',
  ];
}

/**
 * Sends PING in RESP over a raw socket and resolves with the first reply line ("+PONG",
 * "-LOADING ..."), or "" when nothing answers. Needs no Redis client library.
 */
export function pingRedis(port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';

    const finish = (line: string): void => {
      socket.destroy();
      resolve(line);
    };

    socket.setTimeout(timeoutMs, () => finish(''));
    socket.once('error', () => finish(''));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));

    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end >= 0) finish(reply.slice(0, end));
    });
    socket.once('end', () => finish(reply));
  });
}
