// Settings: each one is a command-line flag and an environment variable, parsed and validated
// once at start, then frozen. The names of the first four are part of the contract in
// shared/design.md; other tools rely on them.

import { readFileSync, statSync } from 'node:fs';
import { PolicyInvalidError } from './errors.js';
import { parseDuration } from './lifecycle/duration.js';
import { parsePolicyDocument, type PolicyDocument } from './lifecycle/policy.js';

/** When a DELETE by digest also deletes what refers to the manifest (see README). */
export type CascadeMode = 'off' | 'on-request' | 'always';
const CASCADE_MODES: readonly CascadeMode[] = ['off', 'on-request', 'always'];

export interface Config {
  readonly upstream: URL;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly redisUrl: string;
  /** REDIS_URL names a seed node of a Redis Cluster. */
  readonly redisCluster: boolean;
  readonly logLevel: string;
  /** Largest manifest body the proxy reads; larger pushes get 413 (distribution-spec §2.3). */
  readonly maxManifestBytes: number;
  /** Size bound of one referrers response page; past it the answer is paginated with Link. */
  readonly referrersPageBytes: number;
  /** Bytes of recent referrers pages each process keeps, served while current (0: none). */
  readonly referrersCacheBytes: number;
  /** Time a client has to send a whole manifest body, in milliseconds. */
  readonly manifestBodyTimeoutMs: number;
  /** The proxy's own upstream credentials, for background work only. */
  readonly upstreamCredentials: { readonly username: string; readonly password: string }
    | undefined;
  /** Write each subject's referrers to the upstream under the referrers tag schema. */
  readonly mirror: boolean;
  /** Tag each indexed referrer so registry 2.8's garbage collector keeps it. */
  readonly pinReferrers: boolean;
  /** Show mirror and pin tags in tag listings through the proxy. */
  readonly showInternalTags: boolean;
  /** How long the registry's "yes" to a caller's pull is reused, in milliseconds (0: never). */
  readonly accessCacheMs: number;
  /** Bearer token the registry's notifications must carry; unset disables the endpoint. */
  readonly notificationsToken: string | undefined;
  /** Certificate chain and key (PEM) to serve HTTPS with; undefined: plain HTTP. */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** Extra CA certificates (PEM) to trust for an https:// upstream. */
  readonly upstreamCa: Buffer | undefined;
  readonly cascadeDelete: CascadeMode;
  /** Tag locks and retention policies of the policy file (empty without one). */
  readonly policy: PolicyDocument;
  /** Bearer token of the administrative endpoint; unset disables it. */
  readonly adminToken: string | undefined;
  /** Milliseconds between scheduled retention runs; undefined: only on demand. */
  readonly retentionIntervalMs: number | undefined;
  /** Processes serving the one listening socket (node:cluster); 1 serves in this process. */
  readonly workers: number;
  /** Upstream base URL clients reach; blob GETs are redirected there instead of streamed. */
  readonly blobRedirect: URL | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly setting: string, message: string) {
    super(`invalid setting ${setting}: ${message}`);
  }
}

interface SettingSpec {
  readonly flag: string;
  readonly env: string;
  readonly fallback?: string;
  readonly help: string;
}

const MAX_WORKERS = 64;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const SETTINGS = {
  upstream: {
    flag: '--upstream', env: 'UPSTREAM_URL',
    help: 'base URL of the registry being fronted (required)',
  },
  listen: {
    flag: '--listen', env: 'LISTEN', fallback: '0.0.0.0:5000',
    help: 'HOST:PORT to serve on',
  },
  redis: {
    flag: '--redis', env: 'REDIS_URL', fallback: 'redis://127.0.0.1:6379',
    help: 'Redis URL of the referrers index',
  },
  redisCluster: {
    flag: '--redis-cluster', env: 'REDIS_CLUSTER', fallback: 'off',
    help: 'REDIS_URL is a seed node of a Redis Cluster (on/off)',
  },
  logLevel: {
    flag: '--log-level', env: 'LOG_LEVEL', fallback: 'info',
    help: `pino log level (${LOG_LEVELS.join(', ')})`,
  },
  maxManifestBytes: {
    flag: '--max-manifest-bytes', env: 'MAX_MANIFEST_BYTES', fallback: String(4 * 1024 * 1024),
    help: 'largest manifest body accepted on PUT, in bytes',
  },
  referrersPageBytes: {
    flag: '--referrers-page-bytes', env: 'REFERRERS_PAGE_BYTES',
    fallback: String(4 * 1024 * 1024),
    help: 'size bound of one referrers response page, in bytes',
  },
  referrersCacheBytes: {
    flag: '--referrers-cache-bytes', env: 'REFERRERS_CACHE_BYTES',
    fallback: String(32 * 1024 * 1024),
    help: 'bytes of recent referrers pages kept per process, checked current (0: none)',
  },
  manifestBodyTimeout: {
    flag: '--manifest-body-timeout', env: 'MANIFEST_BODY_TIMEOUT', fallback: '60',
    help: 'seconds a client has to send a whole manifest body (408 after)',
  },
  upstreamUsername: {
    flag: '--upstream-username', env: 'UPSTREAM_USERNAME',
    help: "the proxy's own registry user, for mirror tags, pins and recovery",
  },
  upstreamPassword: {
    flag: '--upstream-password', env: 'UPSTREAM_PASSWORD',
    help: 'password or token of --upstream-username (prefer the environment variable)',
  },
  mirror: {
    flag: '--mirror', env: 'MIRROR', fallback: 'on',
    help: 'write referrers to the registry under the referrers tag schema (on/off)',
  },
  pinReferrers: {
    flag: '--pin-referrers', env: 'PIN_REFERRERS', fallback: 'on',
    help: 'tag each referrer so garbage collection keeps it (on/off)',
  },
  showInternalTags: {
    flag: '--show-internal-tags', env: 'SHOW_INTERNAL_TAGS', fallback: 'off',
    help: 'list mirror and pin tags in tags/list (on/off)',
  },
  accessCacheSeconds: {
    flag: '--access-cache-seconds', env: 'ACCESS_CACHE_SECONDS', fallback: '10',
    help: "seconds the registry's yes to a caller's pull is reused (0: ask every time)",
  },
  notificationsToken: {
    flag: '--notifications-token', env: 'NOTIFICATIONS_TOKEN',
    help: 'token the registry sends to /_referrers-proxy/notifications (unset: endpoint off)',
  },
  tlsCert: {
    flag: '--tls-cert', env: 'TLS_CERT',
    help: 'PEM certificate chain file: serve HTTPS (with --tls-key)',
  },
  tlsKey: {
    flag: '--tls-key', env: 'TLS_KEY',
    help: 'PEM private key file of --tls-cert',
  },
  upstreamCa: {
    flag: '--upstream-ca', env: 'UPSTREAM_CA',
    help: 'PEM file of CA certificates to trust for an https:// upstream',
  },
  cascadeDelete: {
    flag: '--cascade-delete', env: 'CASCADE_DELETE', fallback: 'on-request',
    help: 'delete referrers with their subject: off, on-request (?cascade=true), always',
  },
  policyFile: {
    flag: '--policy-file', env: 'POLICY_FILE',
    help: 'JSON file of tag locks and retention policies',
  },
  adminToken: {
    flag: '--admin-token', env: 'ADMIN_TOKEN',
    help: 'token of the /_referrers-proxy/admin endpoint (unset: endpoint off)',
  },
  retentionInterval: {
    flag: '--retention-interval', env: 'RETENTION_INTERVAL', fallback: 'off',
    help: 'run retention policies this often, e.g. 1h (off: only on demand)',
  },
  workers: {
    flag: '--workers', env: 'WORKERS', fallback: '1',
    help: `processes sharing the listening socket (1 to ${MAX_WORKERS})`,
  },
  blobRedirect: {
    flag: '--blob-redirect', env: 'BLOB_REDIRECT_URL',
    help: 'registry base URL clients reach: blob GETs answer 307 there (unset: streamed)',
  },
} as const satisfies Record<string, SettingSpec>;

type SettingName = keyof typeof SETTINGS;
type RawSettings = Partial<Record<SettingName, string>>;

/** Reads flags (`--name value` or `--name=value`) and environment variables; flags win. */
export function readRawSettings(argv: readonly string[], env: NodeJS.ProcessEnv): RawSettings {
  const raw: RawSettings = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec][]) {
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') raw[name] = fromEnv;
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = splitFlag(arg);
    const name = settingForFlag(flag);
    if (name === undefined) throw new ConfigError(arg, 'unknown flag (see --help)');

    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(flag, 'missing value');
    raw[name] = value;
  }
  return raw;
}

function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

function settingForFlag(flag: string): SettingName | undefined {
  const entry = Object.entries(SETTINGS).find(([, spec]) => spec.flag === flag);
  return entry?.[0] as SettingName | undefined;
}

/** Turns raw strings into a validated, frozen Config; the error names the bad setting. */
export function parseConfig(raw: RawSettings): Config {
  const specs: Record<SettingName, SettingSpec> = SETTINGS;
  const value = (name: SettingName): string => raw[name] ?? specs[name].fallback ?? '';
  const label = (name: SettingName): string => `${SETTINGS[name].flag}/${SETTINGS[name].env}`;

  const upstream = parseUpstream(value('upstream'), label('upstream'));
  const [listenHost, listenPort] = parseListen(value('listen'), label('listen'));
  const redisUrl = parseRedisUrl(value('redis'), label('redis'));
  const logLevel = parseLogLevel(value('logLevel'), label('logLevel'));

  return Object.freeze({
    upstream, listenHost, listenPort, redisUrl, logLevel,
    redisCluster: parseSwitch(value('redisCluster'), label('redisCluster')),
    maxManifestBytes: parseByteCount(value('maxManifestBytes'), label('maxManifestBytes')),
    referrersPageBytes: parseByteCount(value('referrersPageBytes'), label('referrersPageBytes')),
    referrersCacheBytes: parseByteCount(value('referrersCacheBytes'),
      label('referrersCacheBytes'), { max: 1024 * 1024 * 1024, zeroAllowed: true }),
    manifestBodyTimeoutMs: parseSeconds(value('manifestBodyTimeout'),
      label('manifestBodyTimeout')) * 1000,
    upstreamCredentials: parseCredentials(raw.upstreamUsername, raw.upstreamPassword,
      label('upstreamUsername'), label('upstreamPassword')),
    mirror: parseSwitch(value('mirror'), label('mirror')),
    pinReferrers: parseSwitch(value('pinReferrers'), label('pinReferrers')),
    showInternalTags: parseSwitch(value('showInternalTags'), label('showInternalTags')),
    accessCacheMs: parseSeconds(value('accessCacheSeconds'), label('accessCacheSeconds'), true)
      * 1000,
    notificationsToken: parseToken(raw.notificationsToken, label('notificationsToken')),
    tls: parseTls(raw.tlsCert, raw.tlsKey, label('tlsCert'), label('tlsKey')),
    upstreamCa: raw.upstreamCa === undefined
      ? undefined
      : readPem(raw.upstreamCa, label('upstreamCa'), 'CERTIFICATE'),
    cascadeDelete: parseCascadeMode(value('cascadeDelete'), label('cascadeDelete')),
    policy: readPolicyFile(raw.policyFile, label('policyFile')),
    adminToken: parseToken(raw.adminToken, label('adminToken')),
    retentionIntervalMs: parseInterval(value('retentionInterval'), label('retentionInterval')),
    workers: parseWorkers(value('workers'), label('workers')),
    blobRedirect: raw.blobRedirect === undefined
      ? undefined
      : parseUpstream(raw.blobRedirect, label('blobRedirect')),
  });
}

function parseCascadeMode(text: string, setting: string): CascadeMode {
  const mode = CASCADE_MODES.find((candidate) => candidate === text);
  if (mode === undefined) {
    throw new ConfigError(setting, `"${text}" is not one of ${CASCADE_MODES.join(', ')}`);
  }
  return mode;
}

/** A policy file holds some rules; a megabyte is far more than any. */
const MAX_POLICY_BYTES = 1024 * 1024;

/** Reads and checks the policy file at start; the error names the file and the bad field. */
export function readPolicyFile(path: string | undefined, setting: string): PolicyDocument {
  if (path === undefined) return { tagLocks: [], retention: [] };

  let text: string;
  try {
    // A FIFO or /dev/zero would block or never end: only a regular file of sane size is read.
    const stat = statSync(path);
    if (!stat.isFile()) throw new ConfigError(setting, `${path} is not a regular file`);
    if (stat.size > MAX_POLICY_BYTES) {
      throw new ConfigError(setting, `${path} is larger than ${MAX_POLICY_BYTES} bytes`);
    }
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, ''); // editors may add a BOM
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(setting, `cannot read ${path} (${code})`);
  }
  try {
    return parsePolicyDocument(text);
  } catch (error) {
    if (!(error instanceof PolicyInvalidError)) throw error;
    throw new ConfigError(setting, `${path}: ${error.message}`);
  }
}

/** A retention schedule: at least a minute apart, at most four weeks. */
function parseInterval(text: string, setting: string): number | undefined {
  if (text === 'off') return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 60_000 || ms > 28 * 86_400_000) {
    throw new ConfigError(setting, `"${text}" is not off or a duration from 1m to 4w (e.g. 6h)`);
  }
  return ms;
}

function parseWorkers(text: string, setting: string): number {
  const workers = Number(text);
  if (!/^\d+$/.test(text) || workers < 1 || workers > MAX_WORKERS) {
    throw new ConfigError(setting,
      `"${text}" is not a number of processes from 1 to ${MAX_WORKERS}`);
  }
  return workers;
}

function parseTls(
  certPath: string | undefined,
  keyPath: string | undefined,
  certSetting: string,
  keySetting: string,
): Config['tls'] {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined) throw new ConfigError(certSetting, 'is required with a key');
  if (keyPath === undefined) throw new ConfigError(keySetting, 'is required with a certificate');
  return Object.freeze({
    cert: readPem(certPath, certSetting, 'CERTIFICATE'),
    key: readPem(keyPath, keySetting, 'PRIVATE KEY'),
  });
}

/** Reads a PEM file at start, so a wrong path stops the start with the setting's name. */
function readPem(path: string, setting: string, label: string): Buffer {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(setting, `cannot read ${path} (${code})`);
  }
  if (!text.toString('utf8').includes(label)) {
    throw new ConfigError(setting, `${path} holds no PEM ${label}`);
  }
  return text;
}

function parseSeconds(text: string, setting: string, zeroAllowed = false): number {
  const seconds = Number(text);
  const tooSmall = zeroAllowed ? seconds < 0 : seconds <= 0;
  if (!/^\d+(\.\d+)?$/.test(text) || tooSmall || seconds > 3600) {
    throw new ConfigError(setting, `"${text}" is not a number of seconds up to 3600`);
  }
  return seconds;
}

function parseToken(text: string | undefined, setting: string): string | undefined {
  if (text === undefined) return undefined;
  if (!/^[\x21-\x7e]{16,256}$/.test(text)) {
    throw new ConfigError(setting, 'must be 16 to 256 printable characters without spaces');
  }
  return text;
}

function parseSwitch(text: string, setting: string): boolean {
  if (['on', 'true', 'yes', '1'].includes(text)) return true;
  if (['off', 'false', 'no', '0'].includes(text)) return false;
  throw new ConfigError(setting, `"${text}" is not on or off`);
}

function parseCredentials(
  username: string | undefined,
  password: string | undefined,
  userSetting: string,
  passwordSetting: string,
): Config['upstreamCredentials'] {
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined) throw new ConfigError(userSetting, 'is required with a password');
  if (password === undefined) throw new ConfigError(passwordSetting, 'is required with a user');
  if (username.includes(':')) throw new ConfigError(userSetting, 'must not contain ":"');
  return Object.freeze({ username, password });
}

function parseUpstream(text: string, setting: string): URL {
  if (text === '') throw new ConfigError(setting, 'is required (e.g. http://127.0.0.1:5001)');

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(setting, `"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(setting, 'must start with http:// or https://');
  }
  if (url.username !== '' || url.password !== '') {
    // Client requests carry the client's own credentials; none belong in this URL.
    throw new ConfigError(setting, 'must not contain credentials');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(setting, 'must not have a query or fragment');
  }
  if (url.pathname !== '/') {
    throw new ConfigError(setting, 'must be the registry root (no path): /v2/ is appended');
  }
  return url;
}

function parseListen(text: string, setting: string): [string, number] {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  if (match === null) throw new ConfigError(setting, `"${text}" is not HOST:PORT`);

  const port = Number(match[2]);
  if (port > 65535) throw new ConfigError(setting, `port ${port} is out of range`);
  const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return [host, port];
}

function parseRedisUrl(text: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(setting, 'is not a URL (e.g. redis://127.0.0.1:6379)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(setting, 'must start with redis:// or rediss://');
  }
  return text;
}

function parseLogLevel(text: string, setting: string): string {
  if (!LOG_LEVELS.includes(text)) {
    throw new ConfigError(setting, `"${text}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return text;
}

function parseByteCount(
  text: string,
  setting: string,
  { max = 64 * 1024 * 1024, zeroAllowed = false } = {},
): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(setting, `"${text}" is not a byte count`);

  const bytes = Number(text);
  if (zeroAllowed && bytes === 0) return 0;
  if (bytes < 1024 || bytes > max) {
    const zero = zeroAllowed ? '0 or ' : '';
    throw new ConfigError(setting, `must be ${zero}between 1024 and ${max} bytes`);
  }
  return bytes;
}

/** 0 turns the page cache off; otherwise up to 1 GiB (it is held in the process). */

/** The effective settings, for the start-up log line: nothing secret is in them. */
export function describeConfig(config: Config): Record<string, string | number> {
  return {
    upstream: config.upstream.origin,
    listen: `${config.listenHost}:${config.listenPort}`,
    redis: redactUrlPassword(config.redisUrl),
    redisCluster: config.redisCluster ? 'on' : 'off',
    logLevel: config.logLevel,
    maxManifestBytes: config.maxManifestBytes,
    referrersPageBytes: config.referrersPageBytes,
    referrersCacheBytes: config.referrersCacheBytes,
    manifestBodyTimeoutSeconds: config.manifestBodyTimeoutMs / 1000,
    upstreamUser: config.upstreamCredentials?.username ?? '(none)',
    mirror: config.mirror ? 'on' : 'off',
    pinReferrers: config.pinReferrers ? 'on' : 'off',
    showInternalTags: config.showInternalTags ? 'on' : 'off',
    notifications: config.notificationsToken === undefined ? 'off' : 'on',
    accessCacheSeconds: config.accessCacheMs / 1000,
    tls: config.tls === undefined ? 'off' : 'on',
    upstreamCa: config.upstreamCa === undefined ? 'system' : 'custom',
    cascadeDelete: config.cascadeDelete,
    tagLocks: config.policy.tagLocks.length,
    retentionPolicies: config.policy.retention.length,
    admin: config.adminToken === undefined ? 'off' : 'on',
    retentionInterval: config.retentionIntervalMs === undefined
      ? 'off'
      : `${config.retentionIntervalMs / 1000} s`,
    workers: config.workers,
    blobRedirect: config.blobRedirect?.origin ?? 'off',
  };
}

/** Masks a password in the user info and in the query (ioredis reads ?password= too). */
function redactUrlPassword(text: string): string {
  const url = new URL(text);
  if (url.password !== '') url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  return url.toString();
}

const COMMAND_FLAGS: readonly (readonly [string, string])[] = [
  ['reindex --repository NAME', 'rebuild one repository only'],
  ['reindex --storage-root DIR', 'also index untagged manifests found in the registry storage'],
  ['retention --dry-run', 'print what would be deleted as JSON, delete nothing'],
  ['retention --repository NAME', 'run the policies on one repository only'],
];

export function usage(): string {
  const lines = Object.values(SETTINGS).map((spec: SettingSpec) => {
    const fallback = spec.fallback === undefined ? '' : ` (default ${spec.fallback})`;
    return `  ${spec.flag.padEnd(24)} ${spec.env.padEnd(22)} ${spec.help}${fallback}`;
  });
  return ['usage: referrers-proxy [flags]',
    '       referrers-proxy reindex [--repository NAME] [--storage-root DIR] [flags]',
    '       referrers-proxy retention [--dry-run] [--repository NAME] [flags]', '',
    ...COMMAND_FLAGS.map(([flag, help]) => `  ${flag.padEnd(30)} ${help}`), '',
    ...lines].join('\n');
}
