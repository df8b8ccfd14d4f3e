/**
 * One maker per cache entry across processes. Instrumenting a module takes binaryen seconds of
 * CPU (1.5–4 s for a 40 KB program on this machine), and a user who starts 16 jobs of a new
 * program at once used to pay it 16 times over, on the same CPUs the jobs then needed: four cold
 * `osmo run --preemptible` of one module at once took 12.3 s here, against 4.1 s for one.
 *
 * The first run to miss an entry creates `ENTRY.lock` (O_EXCL) and makes the entry; the others
 * wait for the entry instead. A lock is taken over when its maker is gone: its pid no longer runs
 * (same host), or — written by another host sharing the cache directory, whose pids mean nothing
 * here — it is older than {@link FOREIGN_LOCK_STALE_MS}. Whatever goes wrong with the lock itself
 * (a read-only cache, a maker that failed) only costs a run the wait: it then makes the entry
 * itself, as without a lock.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  watch,
  writeSync,
} from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { pidExists } from '../platform/pid.js';

/** A lock from another host older than this is taken to be left behind by a dead maker. */
export const FOREIGN_LOCK_STALE_MS = 30 * 60_000;

/**
 * How often a waiter looks at the lock's maker even without a change in the directory: a maker
 * killed with SIGKILL leaves its lock behind, which no file event announces.
 */
const LIVENESS_CHECK_MS = 500;

export type MakerTurn =
  /** This process makes the entry; `release` once it is written (or the making failed). */
  | { kind: 'make'; release: () => void }
  /** Another process made it while this one waited. */
  | { kind: 'ready'; waitedMs: number };

/**
 * Waits until `ready()` (the entry exists and is whole) or this process holds `lockPath`.
 * `ready` is asked first and after every change in the lock's directory.
 */
export async function makerTurn(lockPath: string, ready: () => boolean): Promise<MakerTurn> {
  const started = performance.now();
  const dir = dirname(lockPath);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return { kind: 'make', release: () => undefined };
  }
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  try {
    for (;;) {
      if (ready()) return { kind: 'ready', waitedMs: performance.now() - started };
      const taken = tryLock(lockPath);
      if (taken !== 'held') return taken;
      if (makerGone(lockPath)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      // Watch from the first wait on; a change between the checks above and here is caught by
      // the next liveness tick at the latest.
      watcher ??= watchDir(dir, basename(lockPath), () => wake?.());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, LIVENESS_CHECK_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    watcher?.close();
  }
}

/** Creates the lock; 'held' if another process has it. Any other failure: make it without one. */
function tryLock(lockPath: string): MakerTurn | 'held' {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'held';
    return { kind: 'make', release: () => undefined };
  }
  try {
    writeSync(fd, `${process.pid} ${hostname()}\n`);
  } finally {
    closeSync(fd);
  }
  let released = false;
  return {
    kind: 'make',
    release: () => {
      if (released) return;
      released = true;
      rmSync(lockPath, { force: true });
    },
  };
}

/** Whether the lock's maker is known to be gone (a lock being written counts as alive). */
function makerGone(lockPath: string): boolean {
  let text: string;
  let ageMs: number;
  try {
    text = readFileSync(lockPath, 'utf8');
    ageMs = Date.now() - statSync(lockPath).mtimeMs;
  } catch {
    return false; // released meanwhile: the next turn of the loop sees it
  }
  const match = /^(\d+) (\S+)\n$/.exec(text);
  if (match === null) return ageMs > FOREIGN_LOCK_STALE_MS; // being written, or not ours
  if (match[2] !== hostname()) return ageMs > FOREIGN_LOCK_STALE_MS;
  return !pidExists(Number(match[1]));
}

/** Calls `changed` on any event in `dir` (the entry renamed into place, the lock removed). */
function watchDir(dir: string, lockName: string, changed: () => void): FSWatcher | undefined {
  try {
    const w = watch(dir, { persistent: false }, (_event, name) => {
      if (name === null || name === lockName || name.endsWith('.wasm')) changed();
    });
    w.on('error', () => undefined);
    return w;
  } catch {
    return undefined; // no watching here: the liveness ticks still come
  }
}
