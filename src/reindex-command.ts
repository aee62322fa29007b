// `referrers-proxy reindex [--repository NAME] [--storage-root DIR] [settings]`: rebuilds the
// index from the registry in the foreground, showing progress, then exits. Uses the same
// settings as the server (--upstream, --redis, --upstream-username, ...).

import { ConfigError, parseConfig, readRawSettings } from './config.js';
import { openRedis } from './index-store/connection.js';
import { initializedKey } from './index-store/keys.js';
import { ReferrersIndex } from './index-store/referrers-index.js';
import { isRepositoryName } from './oci/name.js';
import { Reindexer, type ReindexProgress } from './reindex.js';
import { UpstreamClient } from './upstream/client.js';
import { OwnUpstream } from './upstream/own-credentials.js';

interface ReindexArgs {
  readonly repository: string | undefined;
  readonly storageRoot: string | undefined;
  readonly settings: string[];
}

/** Splits the command's own flags from the server settings; throws ConfigError on misuse. */
export function parseReindexArgs(argv: readonly string[]): ReindexArgs {
  const settings: string[] = [];
  let repository: string | undefined;
  let storageRoot: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    if (flag !== '--repository' && flag !== '--storage-root') {
      settings.push(arg);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(flag, 'missing value');
    if (flag === '--repository') repository = value;
    else storageRoot = value;
  }

  if (repository !== undefined && !isRepositoryName(repository)) {
    throw new ConfigError('--repository', `"${repository}" is not a repository name`);
  }
  return { repository, storageRoot, settings };
}

export async function reindexCommand(argv: readonly string[]): Promise<number> {
  const args = parseReindexArgs(argv);
  const config = parseConfig(readRawSettings(args.settings, process.env));
  const redis = openRedis(config.redisUrl, { cluster: config.redisCluster, failFast: false });
  await redis.connect();
  const upstream = new UpstreamClient(config.upstream, config.upstreamCa);

  try {
    const reindexer = new Reindexer(new ReferrersIndex(redis),
      new OwnUpstream(upstream, config.upstreamCredentials, config.upstreamCa));
    const report = await reindexer.run({ repository: args.repository,
      storageRoot: args.storageRoot, onProgress: progressPrinter() });
    if (args.repository === undefined) {
      await redis.set(initializedKey(), new Date().toISOString());
    }
    if (process.stderr.isTTY) process.stderr.write(`\n${summary(report)}\n`);
    return 0;
  } finally {
    await upstream.close();
    redis.disconnect();
  }
}

/** On a terminal one line redrawn in place; otherwise one line per repository finished. */
function progressPrinter(): (progress: Readonly<ReindexProgress>) => void {
  const terminal = process.stderr.isTTY;
  let lastDone = -1;
  return (progress) => {
    if (terminal) {
      process.stderr.write(`\r\x1b[K${summary(progress)} ${progress.current}`);
    } else if (progress.repositoriesDone !== lastDone) {
      lastDone = progress.repositoriesDone;
      process.stderr.write(`${summary(progress)}\n`);
    }
  };
}

function summary(progress: Readonly<ReindexProgress>): string {
  return `reindex: ${progress.repositoriesDone}/${progress.repositories} repositories, `
    + `${progress.manifestsRead} manifests read, ${progress.referrersIndexed} referrers indexed, `
    + `${progress.entriesRejected} referrers-tag entries rejected`;
}
