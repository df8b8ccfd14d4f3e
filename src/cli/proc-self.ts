/**
 * /proc/self/checkpoint and its settings files, as in MOSIX (FAQ 18), for preemptible programs:
 * writing to `checkpoint` takes a checkpoint; `checkpointfile`, `checkpointlimit` and
 * `checkpointinterval` (minutes) read and set where checkpoints go, how many are kept and how
 * often they are taken.
 *
 * They are real files in a private directory preopened as /proc/self (so every fd operation
 * works on them as on any file); a thin decorator over the backend notices writes to them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostBackend } from '../deputy/host-backend.js';
import type { SyscallBackend } from '../wasi/backend.js';
import type { Preopen } from './run.js';

export const PROC_SELF = '/proc/self';
const FILES = ['checkpoint', 'checkpointfile', 'checkpointlimit', 'checkpointinterval'] as const;

export interface CheckpointSettings {
  checkpointFile: string | undefined;
  checkpointKeep: number | undefined;
  checkpointEveryMs: number | undefined;
}

export interface ProcSelfActions {
  settings(): CheckpointSettings;
  update(change: Partial<CheckpointSettings>): void;
  checkpointNow(): void;
}

export class ProcSelfFiles {
  readonly dir: string;
  actions: ProcSelfActions | undefined;

  constructor(parent: string) {
    this.dir = mkdtempSync(join(parent, 'proc-self-'));
    for (const f of FILES) writeFileSync(join(this.dir, f), '', { mode: 0o600 });
  }

  /**
   * The preopen, after the user's own: their fds are those of a run without it (3, 4, … in the
   * order of --dir), whether the program is preemptible or not, at home or away.
   */
  placeIn(preopens: Preopen[]): Preopen[] {
    return [...preopens, { guestPath: PROC_SELF, hostPath: this.dir }];
  }

  /** Writes the current settings into the files, so a read shows them. */
  refresh(): void {
    const s = this.actions?.settings();
    if (s === undefined) return;
    writeFileSync(
      join(this.dir, 'checkpointfile'),
      s.checkpointFile === undefined ? '' : `${s.checkpointFile}\n`,
    );
    writeFileSync(join(this.dir, 'checkpointlimit'), `${s.checkpointKeep ?? 1}\n`);
    const minutes = s.checkpointEveryMs === undefined ? 0 : s.checkpointEveryMs / 60_000;
    writeFileSync(join(this.dir, 'checkpointinterval'), `${minutes}\n`);
  }

  /** The backend, with writes to the files acted upon once they have happened. */
  wrap(backend: HostBackend): SyscallBackend {
    const dir = this.dir;
    const written = (name: string): void => this.written(name);
    return new Proxy(backend, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if ((prop !== 'fdWrite' && prop !== 'fdPwrite') || typeof value !== 'function') {
          return typeof value === 'function'
            ? (value as (...a: unknown[]) => unknown).bind(target)
            : value;
        }
        return (fd: number, ...rest: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, [
            fd,
            ...rest,
          ]);
          const path = target.hostPathOf(fd);
          if (path?.startsWith(`${dir}/`) === true) {
            const act = (): void => written(path.slice(dir.length + 1));
            if (result instanceof Promise) void result.then(act);
            else act();
          }
          return result;
        };
      },
    });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private written(name: string): void {
    const a = this.actions;
    if (a === undefined) return;
    const text = readFileSync(join(this.dir, name), 'utf8').trim();
    switch (name) {
      case 'checkpoint':
        a.checkpointNow();
        return;
      case 'checkpointfile':
        if (text !== '') a.update({ checkpointFile: text });
        break;
      case 'checkpointlimit': {
        const n = Number(text);
        if (Number.isInteger(n) && n >= 1) a.update({ checkpointKeep: n });
        break;
      }
      case 'checkpointinterval': {
        const minutes = Number(text);
        if (Number.isFinite(minutes) && minutes >= 0) {
          a.update({ checkpointEveryMs: minutes === 0 ? undefined : Math.round(minutes * 60_000) });
        }
        break;
      }
    }
    this.refresh();
  }
}
