/**
 * The guests of this node on disk (stateDir/guests/RUNNER-PID.json: the guest's home and pid), so
 * that a daemon restarted while guests run knows them again: a runner with a guest outlives its
 * daemon (it is detached, ADR 0009), and without this record the new daemon would count no guests
 * (admission, load, `osmo status`) and could not expel them. Each record is written whole (a temp
 * file renamed over it) and removed when its runner ends.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pidExists } from '../platform/pid.js';
import { writeFileWhole } from '../platform/write-whole.js';
import type { GuestOf } from './runner-pool.js';

export interface SurvivingGuest {
  readonly runnerPid: number;
  readonly guest: GuestOf;
  /** A native program's process group while it ran, as last recorded. */
  readonly group?: number;
}

export class GuestRegistry {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * `group`: a native program's process group while it runs, for a later daemon to end if the
   * runner dies with the program still running (runner-pool.ts).
   */
  record(runnerPid: number, guest: GuestOf, group?: number): void {
    writeFileWhole(this.fileOf(runnerPid), JSON.stringify({ ...guest, group }));
  }

  forget(runnerPid: number): void {
    rmSync(this.fileOf(runnerPid), { force: true });
  }

  /** The recorded guests whose runner still runs; the records of the others are removed. */
  survivors(isAlive: (runnerPid: number) => boolean): SurvivingGuest[] {
    const out: SurvivingGuest[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      const match = /^(\d+)\.json$/.exec(name);
      if (match === null) {
        rmSync(path, { force: true }); // a temp file left by a crash mid-write
        continue;
      }
      const runnerPid = Number(match[1]);
      const record = parseRecord(path);
      if (record !== undefined && isAlive(runnerPid)) out.push({ runnerPid, ...record });
      else rmSync(path, { force: true });
    }
    return out;
  }

  private fileOf(runnerPid: number): string {
    return join(this.dir, `${runnerPid}.json`);
  }
}

function parseRecord(path: string): { guest: GuestOf; group?: number } | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<GuestOf> & { group?: unknown };
    if (typeof value.home !== 'string' || typeof value.pid !== 'number') return undefined;
    const guest: GuestOf = {
      home: value.home,
      pid: value.pid,
      ...(typeof value.job === 'string' && { job: value.job }),
      ...(value.native === true && { native: true as const }),
    };
    const group = value.group;
    return typeof group === 'number' && Number.isInteger(group) && group > 1
      ? { guest, group }
      : { guest };
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live `osmo runner` (signal 0, and its command line where /proc has one: a
 * pid reused by another program after a reboot or a long time is not a runner).
 */
export function isRunnerAlive(pid: number): boolean {
  if (!pidExists(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('runner');
  } catch {
    return true; // no /proc: signal 0 is all there is
  }
}
