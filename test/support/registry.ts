// A throwaway CNCF distribution 2.8 registry ("docker-registry serve") on a loopback port,
// storing into a temp dir, without auth: the legacy upstream the proxy fronts in tests.

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Agent, fetch as undiciFetch } from 'undici';
import { onFreePort } from './ports.js';
import {
  launch, makeTempDir, removeTempDir, RestartableServer, waitUntilServing, type ManagedProcess,
} from './process.js';

export interface Registry {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Temp dir holding config.yml and data/ (the storage root). */
  readonly rootDir: string;
  /** The generated config.yml, e.g. for `docker-registry garbage-collect`. */
  readonly configPath: string;
  /** Recent log lines (warn and above) of the current registry process. */
  output(): string;
  /** SIGTERM, SIGKILL after 3 s, then removes rootDir. */
  stop(): Promise<void>;
  /** Sends a signal without waiting, SIGKILL by default: an upstream crash. */
  kill(signal?: NodeJS.Signals): void;
  /** Starts the registry again on the same port, config and data. */
  restart(): Promise<void>;
}

export interface RegistryOptions {
  /** Serve HTTPS with this PEM certificate and key (the url becomes https://). */
  tls?: { certPath: string; keyPath: string; ca: Buffer };
  /** storage.delete.enabled (default true); false makes 2.8 answer DELETE with 405. */
  deleteEnabled?: boolean;
  /**
   * YAML appended verbatim to the generated config, for top-level sections it lacks
   * (notifications, validation, compatibility, ...). distribution 2.8 lets a repeated section
   * (log, storage, http) replace the generated one wholesale, addr and secret included.
   */
  extraConfig?: string;
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const rootDir = await makeTempDir('registry');
  // Fixed for the life of this registry so upload sessions survive restart().
  const secret = randomBytes(24).toString('hex');

  try {
    return await onFreePort(async (port) => {
      const configPath = join(rootDir, 'config.yml');
      await writeFile(configPath, registryConfig(port, rootDir, secret, opts));

      const first = await launchRegistry(port, configPath, opts.tls?.ca);
      return new RegistryInstance(port, rootDir, configPath, first, opts.tls?.ca);
    });
  } catch (err) {
    await removeTempDir(rootDir);
    throw err;
  }
}

class RegistryInstance extends RestartableServer implements Registry {
  readonly url: string;

  constructor(
    readonly port: number,
    readonly rootDir: string,
    readonly configPath: string,
    first: ManagedProcess,
    ca: Buffer | undefined,
  ) {
    super(first, rootDir, () => launchRegistry(port, configPath, ca));
    this.url = `${ca === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  }
}

async function launchRegistry(
  port: number,
  configPath: string,
  ca: Buffer | undefined,
): Promise<ManagedProcess> {
  const child = launch('docker-registry', 'docker-registry', ['serve', configPath]);
  await waitUntilServing(child, port, () => answersV2(port, ca));
  return child;
}

async function answersV2(port: number, ca: Buffer | undefined): Promise<boolean> {
  try {
    const scheme = ca === undefined ? 'http' : 'https';
    const response = await undiciFetch(`${scheme}://127.0.0.1:${port}/v2/`, {
      signal: AbortSignal.timeout(1000),
      ...(ca === undefined ? {} : { dispatcher: new Agent({ connect: { ca } }) }),
    });
    await response.body?.cancel();
    // 401: the registry is up and asks for credentials (auth configured through extraConfig).
    return response.status === 200 || response.status === 401;
  } catch {
    return false;
  }
}

function registryConfig(
  port: number,
  rootDir: string,
  secret: string,
  opts: RegistryOptions,
): string {
  const deleteEnabled = opts.deleteEnabled ?? true;

  // No storage.cache section: a blob descriptor cache would hide what is really on disk
  // from tests that delete or corrupt content behind the registry's back.
  const base = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  formatter: text',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(join(rootDir, 'data'))}`,
    '  delete:',
    `    enabled: ${deleteEnabled}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${secret}`,
    ...(opts.tls === undefined ? [] : ['  tls:', `    certificate: ${opts.tls.certPath}`,
      `    key: ${opts.tls.keyPath}`]),
    '',
  ].join('\n');

  return opts.extraConfig ? `${base}${opts.extraConfig.trimEnd()}\n` : base;
}
