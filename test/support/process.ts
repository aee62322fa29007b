// Child processes and temp dirs owned by the test process. Every child started here is
// remembered until it exits, so that an ending test process (normal exit, failed assertion,
// Ctrl-C, runner timeout) never leaves a redis-server or registry listening behind it.

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { PortInUseError, waitFor } from './ports.js';

const liveChildren = new Set<ChildProcess>();
const liveTempDirs = new Set<string>();
const OUTPUT_LIMIT = 64 * 1024;
const ENDING_SIGNALS = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT']);
let hooksInstalled = false;

/** A long-running child whose recent stdout and stderr are kept for error messages. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves once the child is gone (exited, killed, or never spawned). */
  readonly exited: Promise<void>;
  /** The last 64 KiB the child wrote to stdout and stderr, interleaved. */
  output(): string;
  hasExited(): boolean;
  /** "running", "exited with code 1", "killed by SIGKILL" or the spawn error. */
  status(): string;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL once graceMs has passed; resolves when the child is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface LaunchOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function launch(
  name: string,
  command: string,
  args: readonly string[],
  options: LaunchOptions = {},
): ManagedProcess {
  installExitHooks();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);

  const output = new OutputRing(OUTPUT_LIMIT);
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));

  // A server a test forgot to stop must not keep the test process alive forever; the exit
  // hook kills it instead. stop() takes the reference back while it waits.
  child.unref();
  unrefPipe(child.stdout);
  unrefPipe(child.stderr);

  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A failed spawn (ENOENT, EACCES) emits 'error' and never 'exit'. Later errors (a failed
    // kill) leave the child running; listening for them keeps them from crashing the test.
    child.on('error', (err) => {
      if (child.pid !== undefined) return;
      spawnError = err;
      resolve();
    });
  }).finally(() => liveChildren.delete(child));

  const hasExited = (): boolean =>
    child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;

  return {
    name,
    pid: child.pid,
    exited,
    output: () => output.text(),
    hasExited,
    status: () => describeStatus(child, spawnError),
    kill: (signal: NodeJS.Signals = 'SIGKILL') => {
      if (hasExited()) return;
      // A caller awaiting `exited` after a fatal signal must not be cut short by process exit;
      // a frozen (SIGSTOP) child stays unreferenced, like a running one.
      if (ENDING_SIGNALS.has(signal)) child.ref();
      child.kill(signal);
    },
    stop: (graceMs = 3000) => stopChild(child, exited, hasExited, graceMs),
  };
}

function unrefPipe(stream: Readable | null): void {
  // Pipes from stdio 'pipe' are net.Socket instances, which can be unref'd.
  if (stream instanceof Socket) stream.unref();
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<void>,
  hasExited: () => boolean,
  graceMs: number,
): Promise<void> {
  if (hasExited()) return exited;

  child.ref();
  child.kill('SIGTERM');
  // A child frozen by SIGSTOP (a hang test) only acts on SIGTERM once it runs again.
  child.kill('SIGCONT');
  const timer = setTimeout(() => {
    if (!hasExited()) child.kill('SIGKILL');
  }, graceMs);

  await exited;
  clearTimeout(timer);
}

function describeStatus(child: ChildProcess, spawnError: Error | undefined): string {
  if (spawnError !== undefined) return `failed to start: ${spawnError.message}`;
  if (child.exitCode !== null) return `exited with code ${child.exitCode}`;
  if (child.signalCode !== null) return `killed by ${child.signalCode}`;
  return 'running';
}

/** Result of a short-lived command run to completion. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to completion, keeping all of its output; kills it after timeoutMs. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: LaunchOptions & { timeoutMs?: number } = {},
): Promise<CommandResult> {
  installExitHooks();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 120_000,
    killSignal: 'SIGKILL',
  });
  liveChildren.add(child);

  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

  return new Promise<CommandResult>((resolve, reject) => {
    child.once('error', reject);
    // 'close' rather than 'exit': it fires only after stdout and stderr are drained.
    child.once('close', (code, signal) => resolve({
      code,
      signal,
      stdout: Buffer.concat(stdout),
      stderr: Buffer.concat(stderr).toString('utf8'),
    }));
  }).finally(() => liveChildren.delete(child));
}

/** A fresh directory under the OS temp dir, removed by removeTempDir or at process exit. */
export async function makeTempDir(label: string): Promise<string> {
  installExitHooks();
  const dir = await mkdtemp(join(tmpdir(), `referrers-proxy-${label}-`));
  liveTempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveTempDirs.delete(dir);
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;

  // 'exit' listeners must be synchronous, so SIGKILL is the only choice left here.
  process.on('exit', reapEverything);

  // A signal's default action ends the process without 'exit', so catch the usual ones,
  // reap, then let the signal do what it would have done (unless someone else handles it).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      reapEverything();
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function reapEverything(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  liveChildren.clear();

  for (const dir of liveTempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A child killed a moment ago may still be writing; the OS temp cleaner gets the rest.
    }
  }
  liveTempDirs.clear();
}

/** Keeps the tail of a byte stream, dropping whole chunks from the front past the limit. */
class OutputRing {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;

    while (this.#bytes > this.limit && this.#chunks.length > 1) {
      const dropped = this.#chunks.shift();
      this.#bytes -= dropped?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/**
 * Waits until probe says the child serves. Fails fast, with the child's output, when the child
 * dies first; a bind failure becomes a PortInUseError so that onFreePort can pick another port.
 */
export async function waitUntilServing(
  child: ManagedProcess,
  port: number,
  probe: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const what = `${child.name} to serve on 127.0.0.1:${port}`;

  const check = async (): Promise<boolean> => {
    if (child.hasExited()) throw childDiedError(child, port);
    return probe();
  };

  try {
    await waitFor(check, what, timeoutMs, () => child.output());
  } catch (err) {
    child.kill('SIGKILL');
    await child.exited;
    throw err;
  }
}

function childDiedError(child: ManagedProcess, port: number): Error {
  const output = child.output().trim();
  const message = `${child.name} ${child.status()} before serving on 127.0.0.1:${port}` +
    (output ? `\n--- captured output ---\n${output}` : '');

  return /address already in use/i.test(output)
    ? new PortInUseError(port, message)
    : new Error(message);
}

/**
 * A server child that can crash and come back on the same port and data: output, stop (which
 * also removes its temp dir), kill (a crash, without waiting) and restart.
 */
export class RestartableServer {
  #current: ManagedProcess;
  #stopped = false;

  constructor(
    first: ManagedProcess,
    private readonly tempDir: string,
    private readonly launchAgain: () => Promise<ManagedProcess>,
  ) {
    this.#current = first;
  }

  output(): string {
    return this.#current.output();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;

    await this.#current.stop(3000);
    await removeTempDir(this.tempDir);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#current.kill(signal);
  }

  async restart(): Promise<void> {
    if (this.#stopped) throw new Error(`restart() after stop(): ${this.tempDir} is gone`);

    await this.#current.stop(3000);
    this.#current = await this.launchAgain();
  }
}
