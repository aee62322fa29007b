#!/usr/bin/env node
// Entry point: `referrers-proxy [flags]`. Reads and validates settings, starts the server (or,
// with --workers N, the primary that runs N of them), and shuts down cleanly on SIGINT/SIGTERM.

import cluster from 'node:cluster';
import { ConfigError, parseConfig, readRawSettings, usage } from './config.js';
import { createLogger } from './log.js';
import { reindexCommand } from './reindex-command.js';
import { retentionCommand } from './retention-command.js';
import { startServer } from './server.js';
import { runPrimary } from './workers.js';

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (argv[0] === 'reindex') {
    process.exitCode = await commandOrExit('reindex', reindexCommand, argv.slice(1));
    return;
  }
  if (argv[0] === 'retention') {
    process.exitCode = await commandOrExit('retention', retentionCommand, argv.slice(1));
    return;
  }

  const config = loadConfigOrExit(argv);
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) {
    runPrimary(config.workers, logger);
    return;
  }
  const workerId = cluster.worker?.id;
  const running = await startServer(config,
    { logger: workerId === undefined ? logger : logger.child({ worker: workerId }) });

  let stopping = false;
  const stop = (signal: string): void => {
    // A worker gets Ctrl-C's SIGINT and the primary's SIGTERM: shut down once.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function commandOrExit(
  name: string,
  command: (argv: string[]) => Promise<number>,
  argv: string[],
): Promise<number> {
  try {
    return await command(argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`referrers-proxy ${name}: ${error.message}\n`);
    return 2;
  }
}

function loadConfigOrExit(argv: string[]): ReturnType<typeof parseConfig> {
  try {
    return parseConfig(readRawSettings(argv, process.env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`referrers-proxy: ${error.message}\n`);
    process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`referrers-proxy: failed to start: ${String(error)}\n`);
  process.exit(1);
});
