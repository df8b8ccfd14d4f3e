import { readFileSync } from 'node:fs';

/**
 * Whether process `pid` runs, from /proc: a zombie has ended (an orphan killed with its parent
 * waits for init to reap it, and signal 0 still reaches it).
 */
export function processRuns(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
