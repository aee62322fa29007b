// `referrers-proxy retention [--dry-run] [--repository NAME] [settings]`: runs the retention
// policies of POLICY_FILE once, in the foreground, and prints the report as JSON on stdout
// (logs go to stderr, so stdout can be piped to jq). Exit status 0 when nothing failed, 1 when
// something in the report failed (a delete, a repository's access check or tag listing) or
// another run had the turn. Same settings as the server.

import pino from 'pino';
import { ConfigError, parseConfig, readRawSettings } from './config.js';
import { RetentionBusyError } from './errors.js';
import { openRedis } from './index-store/connection.js';
import { DigestLocks } from './index-store/digest-lock.js';
import { ChangeJournal } from './index-store/journal.js';
import { ReferrersIndex } from './index-store/referrers-index.js';
import { createLogger } from './log.js';
import { MirrorWorker } from './mirror.js';
import { isRepositoryName } from './oci/name.js';
import { buildLifecycle } from './server.js';
import { UpstreamClient } from './upstream/client.js';
import { OwnUpstream } from './upstream/own-credentials.js';

interface RetentionArgs {
  readonly dryRun: boolean;
  readonly repository: string | undefined;
  readonly settings: string[];
}

function parseRetentionArgs(argv: readonly string[]): RetentionArgs {
  const settings: string[] = [];
  let dryRun = false;
  let repository: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--dry-run') {
      dryRun = true;
    } else if (arg === '--repository' || arg.startsWith('--repository=')) {
      if (repository !== undefined) throw new ConfigError('--repository', 'given twice');
      repository = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (repository === undefined || !isRepositoryName(repository)) {
        throw new ConfigError('--repository', `"${repository ?? ''}" is not a repository name`);
      }
    } else {
      settings.push(arg);
    }
  }
  return { dryRun, repository, settings };
}

export async function retentionCommand(argv: readonly string[]): Promise<number> {
  const args = parseRetentionArgs(argv);
  const config = parseConfig(readRawSettings(args.settings, process.env));
  if (config.policy.retention.length === 0) {
    throw new ConfigError('--policy-file/POLICY_FILE', 'names no retention policy');
  }
  const logger = createLogger(config.logLevel, pino.destination(2));
  const redis = openRedis(config.redisUrl, { cluster: config.redisCluster, failFast: false });
  await redis.connect();
  const upstream = new UpstreamClient(config.upstream, config.upstreamCa);

  try {
    const own = new OwnUpstream(upstream, config.upstreamCredentials, config.upstreamCa);
    const index = new ReferrersIndex(redis);
    const locks = new DigestLocks(redis);
    // One mirror pass at the end brings the referrers tags in line with the deletes.
    const mirror = new MirrorWorker(redis, index, locks, own, logger, { mirror: config.mirror,
      pins: config.pinReferrers, intervalMs: 3_600_000, debounceMs: 0 });
    const { retention } = buildLifecycle(config, redis, index, new ChangeJournal(redis), locks,
      { kick: () => undefined }, own, logger);
    const report = await retention.run({ dryRun: args.dryRun, repository: args.repository })
      .catch((error: unknown) => {
        if (!(error instanceof RetentionBusyError)) throw error;
        process.stderr.write(`referrers-proxy retention: ${error.message}\n`);
        return undefined;
      });
    if (report === undefined) return 1;
    if (!args.dryRun && (config.mirror || config.pinReferrers)) await mirror.runOnce();
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.failed.length === 0 ? 0 : 1;
  } finally {
    await upstream.close();
    redis.disconnect();
  }
}
