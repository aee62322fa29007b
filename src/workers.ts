// Worker processes (--workers N): the primary forks N copies of the whole proxy, which share
// the listening socket through node:cluster, replaces a worker that dies, and stops them all
// on SIGTERM/SIGINT. Each worker has its own Redis connection and background jobs; those are
// safe side by side because every job takes a Redis lock first (mirror per subject, recovery
// per digest, the rebuild under one lock), as they are for several proxies sharing one Redis.

import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './log.js';

/** Workers still running this long after SIGTERM are killed, past the server's own grace. */
const STOP_GRACE_MS = 15_000;

/** What the primary does when a worker exits. */
export type ExitDecision =
  | { readonly action: 'none' }
  | { readonly action: 'give-up' }
  | { readonly action: 'replace'; readonly afterMs: number };

export interface ExitFacts {
  readonly stopping: boolean;
  /** This worker had started serving. */
  readonly workerListened: boolean;
  /** Some worker of this primary has ever started serving. */
  readonly anyListened: boolean;
  /** Workers in a row that died before serving, this one included. */
  readonly failedStarts: number;
}

/** Longest wait before replacing a worker that keeps dying before it serves. */
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * A worker dying before any worker ever served (a port in use, a bad certificate) would only
 * repeat: give up. Once the proxy has served, a replacement that dies while starting (the OOM
 * killer, say) is replaced again, waiting longer each time, rather than stopping the healthy
 * workers with it.
 */
export function decideOnExit(facts: ExitFacts): ExitDecision {
  if (facts.stopping) return { action: 'none' };
  if (facts.workerListened) return { action: 'replace', afterMs: 0 };
  if (!facts.anyListened) return { action: 'give-up' };
  const afterMs = Math.min(250 * 2 ** Math.min(facts.failedStarts, 10), MAX_RESTART_DELAY_MS);
  return { action: 'replace', afterMs };
}

export function runPrimary(workers: number, logger: Logger): void {
  const listened = new Set<number>();
  let stopping = false;
  let failedStarts = 0;

  cluster.on('listening', (worker) => {
    listened.add(worker.id);
    failedStarts = 0;
  });
  cluster.on('exit', (worker, code, signal) => {
    const workerListened = listened.has(worker.id);
    if (!workerListened) failedStarts++;
    const decision = decideOnExit({ stopping, workerListened, anyListened: listened.size > 0,
      failedStarts });
    const fields = { pid: worker.process.pid, code, signal };

    if (decision.action === 'none') {
      if (liveWorkers().length === 0) process.exit(process.exitCode ?? 0);
    } else if (decision.action === 'give-up') {
      logger.fatal(fields, 'worker failed to start');
      process.exitCode = 1;
      stop();
    } else {
      logger.error({ ...fields, restartInMs: decision.afterMs }, 'worker died; starting another');
      setTimeout(() => {
        if (!stopping) cluster.fork();
      }, decision.afterMs);
    }
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
