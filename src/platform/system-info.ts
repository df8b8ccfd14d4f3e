/**
 * Reads the node's resources from the operating system: /proc on Linux, `node:os` elsewhere.
 * Failures fall back to `node:os` figures; a sampler never throws into the daemon's loop.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MemorySample {
  readonly totalMemBytes: number;
  /** MemAvailable (what can be allocated without swapping), not MemFree. */
  readonly freeMemBytes: number;
  readonly totalSwapBytes: number;
  readonly freeSwapBytes: number;
}

export function cpuCount(): number {
  return typeof os.availableParallelism === 'function'
    ? os.availableParallelism()
    : os.cpus().length;
}

/** Parses /proc/meminfo text (values in kB). Exported for tests. */
export function parseMeminfo(text: string): MemorySample | undefined {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
  };
  const total = field('MemTotal');
  const available = field('MemAvailable') ?? field('MemFree');
  if (total === undefined || available === undefined) return undefined;
  return {
    totalMemBytes: total,
    freeMemBytes: available,
    totalSwapBytes: field('SwapTotal') ?? 0,
    freeSwapBytes: field('SwapFree') ?? 0,
  };
}

export function readMemory(): MemorySample {
  try {
    const parsed = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
    if (parsed !== undefined) return parsed;
  } catch {
    // not Linux, or /proc not mounted: fall through
  }
  return {
    totalMemBytes: os.totalmem(),
    freeMemBytes: os.freemem(),
    totalSwapBytes: 0,
    freeSwapBytes: 0,
  };
}

/** Parses `procs_running` from /proc/stat text. Exported for tests. */
export function parseProcsRunning(text: string): number | undefined {
  const m = /^procs_running\s+(\d+)/m.exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * Instantaneous run-queue length: runnable tasks, minus the sampler itself (it is running while
 * it reads). Without /proc, the 1-minute load average stands in.
 */
export function readRunQueue(): number {
  try {
    const running = parseProcsRunning(readFileSync('/proc/stat', 'utf8'));
    if (running !== undefined) return Math.max(0, running - 1);
  } catch {
    // fall through
  }
  return os.loadavg()[0] ?? 0;
}

/** CPU time (user + system, in clock ticks) and resident set of a process, from /proc. */
export function readProcStat(pid: number): { cpuTicks: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuTicks: utime + stime, rssBytes: rssPages * 4096 };
  } catch {
    return undefined;
  }
}
