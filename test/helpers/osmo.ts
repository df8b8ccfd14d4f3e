/** Runs the real `osmo` binary as a child process, the way a user does. */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const osmoBin = join(repoRoot, 'bin', 'osmo.js');

export function fixture(name: string): string {
  return join(repoRoot, 'tests', 'fixtures', 'wasm', `${name}.wasm`);
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: Buffer | string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the child once it is spawned (to send signals, stream stdin…). */
  onSpawn?: (child: ChildProcess) => void;
  /** Called with each stdout chunk as it arrives. */
  onStdout?: (chunk: Buffer, child: ChildProcess) => void;
  /** Give the program /dev/null as stdin (a pipe as stdin cannot be restored). */
  stdinNull?: boolean;
  /** Keep stdout in the result (default true; false for large streams). */
  collectStdout?: boolean;
  /** Kill the child if it has not ended by then (a test failure, not a wait). */
  deadlineMs?: number;
  /** Run through this command first, e.g. ['ip', 'netns', 'exec', 'n1'] (a "host" of its own). */
  prefix?: readonly string[];
}

export function osmo(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: [options.stdinNull === true ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  };
  const argv = [...(options.prefix ?? []), process.execPath, osmoBin, ...args];
  const child = spawn(argv[0]!, argv.slice(1), spawnOptions);
  const out: Buffer[] = [];
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    if (options.collectStdout !== false) out.push(c);
    options.onStdout?.(c, child);
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  child.stdin?.on('error', () => undefined); // the program may exit before reading all input
  if (options.input !== undefined) child.stdin?.end(options.input);
  options.onSpawn?.(child);
  const deadline = setTimeout(() => child.kill('SIGKILL'), options.deadlineMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(deadline);
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/**
 * This environment with its runtime, state and cache directories in `dir`: process sockets,
 * images and instrumented modules of a test stay private to it.
 */
export function privateEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_RUNTIME_DIR: dir,
    XDG_STATE_HOME: dir,
    XDG_CACHE_HOME: join(dir, 'cache'),
  };
}

export function makeScratch(): string {
  return mkdtempSync(join(tmpdir(), 'osmo-test-'));
}

export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
