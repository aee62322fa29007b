// Worker processes (--workers N): the primary forks N copies of the whole proxy, which share
// the listening socket through node:cluster, replaces a worker that dies, and stops them all
// on SIGTERM/SIGINT. Each worker has its own Redis connection and background jobs; those are
// safe side by side because every job takes a Redis lock first (mirror per subject, recovery
// per digest, the rebuild under one lock), as they are for several proxies sharing one Redis.

import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './log.js';

/** Workers still running this long after SIGTERM are killed, past the server's own grace. */
const STOP_GRACE_MS = 15_000;

export function runPrimary(workers: number, logger: Logger): void {
  const listened = new Set<number>();
  let stopping = false;

  cluster.on('listening', (worker) => listened.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (liveWorkers().length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (!listened.has(worker.id)) {
      // Dying before serving (a port in use, a bad certificate) would only repeat.
      logger.fatal({ pid: worker.process.pid, code, signal }, 'worker failed to start');
      process.exitCode = 1;
      stop();
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    cluster.fork();
  });

  const stop = (): void => {
    stopping = true;
    const live = liveWorkers();
    if (live.length === 0) process.exit(process.exitCode ?? 0);
    for (const worker of live) worker.process.kill('SIGTERM');
    setTimeout(() => liveWorkers().forEach((w) => w.process.kill('SIGKILL')), STOP_GRACE_MS)
      .unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      logger.info({ signal }, 'stopping workers');
      stop();
    });
  }

  for (let n = 0; n < workers; n++) cluster.fork();
  logger.info({ workers, pid: process.pid }, 'referrers-proxy primary started');
}

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {})
    .filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
}
