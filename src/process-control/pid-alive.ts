import { readFileSync } from 'node:fs';

/**
 * Whether the process is stopped (Ctrl-Z, SIGSTOP; state T or t in /proc/PID/stat): it cannot
 * answer anything until continued. False when unknown (no /proc, gone).
 */
export function isPidStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) S …": comm may hold spaces and parentheses, so the state follows the last ')'.
    const state = stat[stat.lastIndexOf(')') + 2];
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}
