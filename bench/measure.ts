/** Timing helpers for the benchmarks: whole-command wall time, interleaved runs, medians. */
import { spawnSync } from 'node:child_process';

export interface Command {
  label: string;
  argv: string[];
  /** Shell pipeline instead of argv (for stdin/stdout redirections). */
  shell?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

export function wallMs(cmd: Command): number {
  const start = process.hrtime.bigint();
  const options = {
    stdio: ['ignore', 'ignore', 'pipe'] as ('ignore' | 'pipe')[],
    env: { ...process.env, ...cmd.env },
  };
  const r =
    cmd.shell !== undefined
      ? spawnSync('bash', ['-c', cmd.shell], options)
      : spawnSync(cmd.argv[0]!, cmd.argv.slice(1), options);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) {
    throw new Error(
      `${cmd.label} failed (status ${r.status}): ${r.stderr?.toString().slice(0, 400)}`,
    );
  }
  return ms;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs the commands round-robin (A B C A B C …) `rounds` times; returns the median of each. */
export function interleaved(commands: readonly Command[], rounds: number): number[] {
  const times: number[][] = commands.map(() => []);
  for (let r = 0; r < rounds; r++) commands.forEach((c, i) => times[i]!.push(wallMs(c)));
  return times.map(median);
}

export function geomean(values: readonly number[]): number {
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

export const fmt = (v: number, digits = 2): string => v.toFixed(digits);

/**
 * MB/s of each pipeline as it passes 1 GiB of zeros from its stdin to its stdout (`shell` gets the
 * feed to pipe from); interleaved, medians of 3–5 rounds.
 */
export function streamOneGiB(
  pipelines: readonly (Omit<Command, 'argv' | 'shell'> & { shell: (feed: string) => string })[],
  rounds: number,
): number[] {
  const size = 1 << 30;
  const feed = `head -c ${size} /dev/zero`;
  const commands = pipelines.map((p) => ({ ...p, argv: [], shell: p.shell(feed) }));
  return interleaved(commands, Math.max(3, Math.min(rounds, 5))).map(
    (ms) => size / 1e6 / (ms / 1000),
  );
}
