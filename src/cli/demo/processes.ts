/**
 * Every process the demo starts, by pid, and how they end: asked with SIGTERM, then SIGKILL after
 * a grace period. Children run in their own process group so that a Ctrl-C at the terminal reaches
 * only the demo, which then stops them in order (jobs, their runners, daemons). The guest runners
 * a daemon forks are found through /proc (their parent's pid) while the daemon still lives, so
 * they end while their parent can still reap them.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { pidExists } from '../../platform/pid.js';

export interface Started {
  readonly pid: number;
  readonly what: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** State letter and parent of `pid` from /proc, if it can be read. */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  return pidExists(pid) && procStat(pid)?.state !== 'Z';
}

/**
 * `pid` has not been reaped yet, and will be: a zombie counts until its parent reaps it, except
 * one left to an init that may never do so (a parent that died first).
 */
function unreaped(pid: number): boolean {
  if (!pidExists(pid)) return false;
  const st = procStat(pid);
  return !(st?.state === 'Z' && st.ppid === 1);
}

/** Every descendant of `roots` not yet reaped (Linux /proc; an empty list elsewhere). */
export function descendants(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st === undefined) continue; // exited while we looked
    const list = children.get(st.ppid) ?? [];
    list.push(Number(e));
    children.set(st.ppid, list);
  }
  const found: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      found.push(c);
      queue.push(c);
    }
  }
  return found.filter(unreaped);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Resolves true once `pending` holds for none of `pids`, false at the deadline. */
async function waitGone(
  pids: readonly number[],
  pending: (pid: number) => boolean,
  deadlineMs: number,
): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (!pids.some(pending)) return true;
    if (Date.now() >= end) return false;
    await delay(25);
  }
}

export class ProcessSet {
  private readonly started: Started[] = [];
  /** Pids seen as descendants of ours (guest runners), also ended at cleanup. */
  private readonly adopted = new Set<number>();
  /** Adopted pids seen gone: never signalled again (the number may belong to another by then). */
  private readonly gone = new Set<number>();

  /**
   * Not yet reaped. A child of ours: until Node has reaped it (its 'exit'), so its pid cannot
   * have been reused. An adopted pid: until it no longer exists — a zombie counts, since a guest
   * runner must be reaped by its daemon before the daemon stops, or it stays a zombie under an
   * init that may not reap.
   */
  private readonly pending = (pid: number): boolean => {
    const child = this.started.find((s) => s.pid === pid)?.child;
    if (child !== undefined) return child.exitCode === null && child.signalCode === null;
    if (this.gone.has(pid)) return false;
    if (unreaped(pid)) return true;
    this.gone.add(pid);
    return false;
  };

  spawn(
    what: string,
    argv: readonly string[],
    options: { env: NodeJS.ProcessEnv; cwd: string; stdio: StdioOptions },
  ): Started {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: options.env,
      cwd: options.cwd,
      stdio: options.stdio,
      detached: true,
    });
    if (child.pid === undefined) {
      // spawn failed (reported through 'error'); nothing to track
      const error = new Promise<never>((_, reject) => child.once('error', reject));
      error.catch(() => undefined);
      throw new Error(`could not start ${what} (${argv[0]})`);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    child.on('error', () => undefined);
    const s: Started = { pid: child.pid, what, child, exited };
    this.started.push(s);
    return s;
  }

  /** Every pid the demo started or adopted, in order. */
  pids(): number[] {
    return [...this.started.map((s) => s.pid), ...this.adopted];
  }

  /** Remembers the current descendants of `roots` so cleanup ends them too. */
  adoptDescendants(roots: readonly number[]): number[] {
    const found = descendants(roots.filter(this.pending));
    for (const pid of found) this.adopted.add(pid);
    return found;
  }

  /**
   * SIGTERM, then SIGKILL to what is left after `graceMs`; resolves once all have exited (or
   * after a last deadline, with the pids still alive).
   */
  async terminate(pids: readonly number[], graceMs = 3000): Promise<number[]> {
    const live = pids.filter(this.pending);
    if (live.length === 0) return [];
    for (const pid of live) signal(pid, 'SIGTERM');
    if (await waitGone(live, this.pending, graceMs)) return [];
    for (const pid of live) if (this.pending(pid) && isAlive(pid)) signal(pid, 'SIGKILL');
    await waitGone(live, this.pending, 2000);
    return live.filter((pid) => this.pending(pid) && isAlive(pid));
  }

  /** Last resort on exit: SIGKILL to everything still alive, synchronously. */
  killAllNow(): void {
    for (const pid of this.pids()) if (this.pending(pid) && isAlive(pid)) signal(pid, 'SIGKILL');
  }
}
