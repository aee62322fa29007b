// A whole test environment: a real redis-server, a real registry 2.8 and the proxy in this
// process in front of them, its log lines captured as parsed objects.

import { Writable } from 'node:stream';
import { parseConfig, readRawSettings } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.js';
import { makeTempDir, removeTempDir } from './process.js';
import { startRedis, type RedisServer } from './redis.js';
import { startRegistry, type Registry, type RegistryOptions } from './registry.js';

export type LogLine = Record<string, unknown> & { msg?: string };

/** pino destination that keeps every line, parsed, for assertions on fields. */
export class LogSink extends Writable {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text === '') continue;
      this.raw.push(text);
      this.lines.push(JSON.parse(text) as LogLine);
    }
    done();
  }

  requests(): LogLine[] {
    return this.lines.filter((line) => line.msg === 'request' || line.msg === 'request failed');
  }
}

export interface ProxyEnv {
  readonly redis: RedisServer;
  readonly registry: Registry;
  readonly proxy: RunningServer;
  readonly logs: LogSink;
  /** Base URL of the proxy, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Replaces the proxy with a new one on the same Redis and registry. */
  restartProxy(flags?: string[]): Promise<void>;
  /** Starts a second proxy on the same Redis and registry; stop() stops it too. */
  startAnotherProxy(flags?: string[]): Promise<RunningServer>;
  stop(): Promise<void>;
}

export interface ProxyEnvOptions {
  /** Extra proxy flags, e.g. ['--referrers-page-bytes', '2048']. */
  readonly flags?: string[];
  readonly registry?: RegistryOptions;
  readonly server?: Omit<ServerOptions, 'logger'>;
}

export async function startProxyEnv(options: ProxyEnvOptions = {}): Promise<ProxyEnv> {
  const redis = await startRedis();
  const registry = await startRegistry(options.registry);
  const logs = new LogSink();
  let proxy = await startProxy(redis, registry, logs, options, options.flags ?? []);
  const others: RunningServer[] = [];

  return {
    redis, registry, logs,
    get proxy() {
      return proxy;
    },
    get url() {
      return proxy.url;
    },
    async restartProxy(flags = options.flags ?? []) {
      await proxy.close();
      proxy = await startProxy(redis, registry, logs, options, flags);
    },
    async startAnotherProxy(flags = options.flags ?? []) {
      const another = await startProxy(redis, registry, logs, options, flags);
      others.push(another);
      return another;
    },
    async stop() {
      await Promise.all([proxy, ...others].map((running) => running.close()));
      await Promise.all([registry.stop(), redis.stop()]);
    },
  };
}

function startProxy(
  redis: RedisServer,
  registry: Registry,
  logs: LogSink,
  options: ProxyEnvOptions,
  flags: string[],
): Promise<RunningServer> {
  const argv = ['--upstream', registry.url, '--redis', redis.url, '--listen', '127.0.0.1:0',
    '--log-level', 'debug', ...flags];
  const config = parseConfig(readRawSettings(argv, {}));
  return startServer(config, { ...options.server, logger: createLogger('debug', logs) });
}

export interface BasicAuthEnv extends ProxyEnv {
  /** `Basic ...` header value of the registry's one user. */
  readonly authorization: string;
  readonly password: string;
}

/**
 * A proxy env whose registry wants basic auth (htpasswd). Registry 2.8 provisions a missing
 * htpasswd file with a user "docker" and logs the generated password, which is read back here.
 */
export async function startBasicAuthEnv(): Promise<BasicAuthEnv> {
  const htpasswdDir = await makeTempDir('htpasswd');
  const auth = ['auth:', '  htpasswd:', '    realm: test-realm',
    `    path: ${htpasswdDir}/htpasswd`];
  const env = await startProxyEnv({ registry: { extraConfig: auth.join('\n') } });

  const password = /password=(\S+)/.exec(env.registry.output())?.[1];
  if (password === undefined) throw new Error('registry did not log the provisioned password');
  const authorization = `Basic ${Buffer.from(`docker:${password}`).toString('base64')}`;
  // A prototype link rather than a spread: env's url and proxy getters follow restartProxy().
  return Object.assign(Object.create(env) as ProxyEnv, {
    authorization,
    password,
    async stop() {
      await env.stop();
      await removeTempDir(htpasswdDir);
    },
  });
}
