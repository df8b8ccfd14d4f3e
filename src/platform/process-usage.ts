/**
 * CPU time and resident memory of a native process, from /proc (Linux): what `osmo ps` shows of
 * a native program (osmo run -E), wherever it runs — with the processes it started (a `make -j`
 * is its compilers as much as itself).
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessUsage {
  /** User + system time of the process and of the children it has waited for. */
  readonly cpuTimeMs: number;
  /** Resident set size. */
  readonly memoryBytes: number;
}

/** Linux reports stat's times in clock ticks of USER_HZ, 100 on every Linux ABI. */
const TICKS_PER_SECOND = 100;

/**
 * The usage of process `pid` and of every process below it (children, theirs…) that is still
 * there: their own times, the times of the children they waited for (so a compiler that ended
 * counts once its make waited for it), and the sum of their resident memory. Undefined when
 * `pid` is gone or /proc is missing. A process that left the tree (daemonised, reparented to
 * init) is no longer counted.
 */
export function treeUsage(pid: number, proc = '/proc'): ProcessUsage | undefined {
  let names: string[];
  try {
    names = readdirSync(proc);
  } catch {
    return undefined;
  }
  const stats = new Map<number, string>();
  const children = new Map<number, number[]>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`${proc}/${name}/stat`, 'latin1');
    } catch {
      continue; // ended meanwhile
    }
    const parent = statFields(stat)[1];
    stats.set(Number(name), stat);
    const siblings = children.get(Number(parent));
    if (siblings === undefined) children.set(Number(parent), [Number(name)]);
    else siblings.push(Number(name));
  }
  if (!stats.has(pid)) return undefined;
  let cpuTimeMs = 0;
  let memoryBytes = 0;
  for (const member of [pid, ...descendants(pid, children)]) {
    let status = '';
    try {
      status = readFileSync(`${proc}/${member}/status`, 'latin1');
    } catch {
      // ended meanwhile: its times as last read, no memory
    }
    const usage = parseUsage(stats.get(member)!, status);
    if (usage === undefined) continue;
    cpuTimeMs += usage.cpuTimeMs;
    memoryBytes += usage.memoryBytes;
  }
  return { cpuTimeMs, memoryBytes };
}

/** Every process below `pid`, from parent → children lists (a pid recycled into a loop counts once). */
function descendants(pid: number, children: ReadonlyMap<number, readonly number[]>): number[] {
  const found = new Set<number>([pid]);
  const out: number[] = [];
  for (let i = -1; i < out.length; i++) {
    for (const child of children.get(i < 0 ? pid : out[i]!) ?? []) {
      if (found.has(child)) continue;
      found.add(child);
      out.push(child);
    }
  }
  return out;
}

/** stat's fields from the third (state) on: the command name (field 2) may hold spaces and ')'. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** From the texts of /proc/PID/stat and /proc/PID/status (VmRSS in kB: no page size needed). */
export function parseUsage(stat: string, status: string): ProcessUsage | undefined {
  const fields = statFields(stat);
  // Fields 14–17 (utime, stime, cutime, cstime) are at 11–14 once the first two are cut off.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  // A zombie has no VmRSS line: nothing resident.
  const residentKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  if (!Number.isFinite(ticks)) return undefined;
  return {
    cpuTimeMs: Math.round((ticks * 1000) / TICKS_PER_SECOND),
    memoryBytes: residentKiB * 1024,
  };
}
