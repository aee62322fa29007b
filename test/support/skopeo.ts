// skopeo as the real-world client in pass-through tests. It runs isolated: its own trust
// policy, empty registries.conf and registries.d, and HOME/XDG dirs in a temp dir, so it
// reads no credentials of the machine and writes nothing outside that dir.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { readOciLayoutManifestDigest, writeOciLayout, type OciImage } from './oci-layout.js';
import { makeTempDir, removeTempDir, runCommand, type CommandResult } from './process.js';

export interface SkopeoCopyOptions {
  /** --preserve-digests (default true): fail rather than rewrite a manifest on the way. */
  preserveDigests?: boolean;
  /** Further `skopeo copy` flags, e.g. ['--all'] or ['--format', 'oci']. */
  extraArgs?: string[];
  timeoutMs?: number;
}

/**
 * `skopeo copy src dest`, e.g. `oci:/tmp/layout:v1` to `docker://127.0.0.1:5000/repo:v1`.
 * Registries are spoken to over plain http (TLS verification off). Throws with skopeo's stderr.
 */
export async function skopeoCopy(
  src: string,
  dest: string,
  opts: SkopeoCopyOptions = {},
): Promise<void> {
  const copyArgs = [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    // The throwaway registries have no auth; never pick up the machine's credentials.
    '--src-no-creds',
    '--dest-no-creds',
    ...(opts.preserveDigests ?? true ? ['--preserve-digests'] : []),
    ...(opts.extraArgs ?? []),
    src,
    dest,
  ];
  await runSkopeo(copyArgs, opts.timeoutMs);
}

/**
 * Copies `image` from an OCI layout to `<base>/<repository>:v1` and back out into another
 * layout with skopeo; returns the manifest digest that came back.
 */
export async function skopeoRoundTrip(
  base: string,
  repository: string,
  image: OciImage,
): Promise<string> {
  const source = await makeTempDir('layout-in');
  const target = await makeTempDir('layout-out');
  try {
    await writeOciLayout(source, image, 'v1');
    const remote = `docker://${new URL(base).host}/${repository}:v1`;

    await skopeoCopy(`oci:${source}:v1`, remote);
    await skopeoCopy(remote, `oci:${target}:v1`);
    return await readOciLayoutManifestDigest(target, 'v1');
  } finally {
    await Promise.all([removeTempDir(source), removeTempDir(target)]);
  }
}

/** The manifest bytes as stored at ref (`skopeo inspect --raw`), byte for byte. */
export async function skopeoInspectRaw(ref: string, timeoutMs?: number): Promise<Buffer> {
  const result = await runSkopeo(
    ['inspect', '--raw', '--tls-verify=false', '--no-creds', ref],
    timeoutMs,
  );
  return result.stdout;
}

async function runSkopeo(args: string[], timeoutMs = 120_000): Promise<CommandResult> {
  const sandbox = await makeSandbox();
  try {
    const result = await runCommand('skopeo', [...sandbox.globalArgs, ...args], {
      env: sandbox.env,
      timeoutMs,
    });
    if (result.code !== 0) throw skopeoError(args, result);
    return result;
  } finally {
    await removeTempDir(sandbox.dir);
  }
}

interface Sandbox {
  dir: string;
  globalArgs: string[];
  env: NodeJS.ProcessEnv;
}

async function makeSandbox(): Promise<Sandbox> {
  const dir = await makeTempDir('skopeo');
  const home = join(dir, 'home');
  const registriesD = join(dir, 'registries.d');
  const tmp = join(dir, 'tmp');
  await Promise.all([home, registriesD, tmp].map((path) => mkdir(path, { recursive: true })));

  const policy = join(dir, 'policy.json');
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(registriesConf, '');

  const globalArgs = [
    '--policy', policy,
    '--registries-conf', registriesConf,
    // An empty registries.d: no lookaside signature store to read from or write to.
    '--registries.d', registriesD,
    '--tmpdir', tmp,
  ];
  return { dir, globalArgs, env: sandboxEnv(home, tmp) };
}

function sandboxEnv(home: string, tmp: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_RUNTIME_DIR: join(home, 'run'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    TMPDIR: tmp,
    // The authfile lookup chain also honours these; point them nowhere.
    REGISTRY_AUTH_FILE: join(home, 'auth.json'),
    DOCKER_CONFIG: join(home, '.docker'),
  };
}

function skopeoError(args: string[], result: CommandResult): Error {
  const how = result.signal === null ? `exited with ${result.code}` : `killed by ${result.signal}`;
  const stderr = result.stderr.trim();
  return new Error(`skopeo ${args.join(' ')} ${how}${stderr ? `:\n${stderr}` : ''}`);
}
