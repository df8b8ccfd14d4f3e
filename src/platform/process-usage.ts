/**
 * CPU time and resident memory of a native process, from /proc (Linux): what `osmo ps` shows of
 * a native program (osmo run -E), wherever it runs.
 */
import { readFileSync } from 'node:fs';

export interface ProcessUsage {
  /** User + system time of the process and of the children it has waited for. */
  readonly cpuTimeMs: number;
  /** Resident set size. */
  readonly memoryBytes: number;
}

/** Linux reports stat's times in clock ticks of USER_HZ, 100 on every Linux ABI. */
const TICKS_PER_SECOND = 100;

/** The usage of process `pid`, or undefined when it is gone or /proc is missing. */
export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    return parseUsage(
      readFileSync(`/proc/${pid}/stat`, 'latin1'),
      readFileSync(`/proc/${pid}/status`, 'latin1'),
    );
  } catch {
    return undefined;
  }
}

/** From the texts of /proc/PID/stat and /proc/PID/status (VmRSS in kB: no page size needed). */
export function parseUsage(stat: string, status: string): ProcessUsage | undefined {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
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
