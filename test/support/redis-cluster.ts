// A throwaway three-master Redis Cluster on loopback (no replicas), for the index's cluster
// support. Each node also needs its cluster bus port, port + 10000, free.

import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import {
  launch, makeTempDir, removeTempDir, runCommand, waitUntilServing, type ManagedProcess,
} from './process.js';
import { pingRedis } from './redis.js';

export interface RedisCluster {
  /** redis://127.0.0.1:PORT of the first node: a seed. */
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await makeTempDir('redis-cluster');
  const nodes: ManagedProcess[] = [];
  const ports: number[] = [];
  try {
    for (let n = 0; n < 3; n++) {
      const port = await clusterPort();
      nodes.push(await launchNode(port, join(dir, String(n))));
      ports.push(port);
    }
    await createCluster(ports);
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop(3000)));
    await removeTempDir(dir);
    throw error;
  }

  return {
    url: `redis://127.0.0.1:${ports[0]}`,
    ports,
    async stop() {
      await Promise.all(nodes.map((node) => node.stop(3000)));
      await removeTempDir(dir);
    },
  };
}

/** A free port whose cluster bus port (+10000) is free too. */
async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && await bindable(port + 10_000)) return port;
  }
  throw new Error('no port pair for a cluster node');
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function launchNode(port: number, dir: string): Promise<ManagedProcess> {
  await mkdir(dir, { recursive: true });
  const child = launch('redis-server', 'redis-server', ['--port', String(port),
    '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000',
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '']);
  await waitUntilServing(child, port, async () => (await pingRedis(port)) === '+PONG');
  return child;
}

async function createCluster(ports: readonly number[]): Promise<void> {
  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  const created = await runCommand('redis-cli', ['--cluster', 'create', ...nodes,
    '--cluster-replicas', '0', '--cluster-yes'], { timeoutMs: 60_000 });
  if (created.code !== 0) throw new Error(`redis-cli --cluster create: ${created.stderr}`);

  await waitFor(async () => {
    const states = await Promise.all(ports.map(async (port) => {
      const info = await runCommand('redis-cli', ['-p', String(port), 'cluster', 'info'],
        { timeoutMs: 5_000 });
      return info.stdout.toString().includes('cluster_state:ok');
    }));
    return states.every(Boolean);
  }, 'redis cluster state ok', 30_000);
}
