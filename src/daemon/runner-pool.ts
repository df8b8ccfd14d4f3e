/**
 * The guest runner processes of a node: a few started ahead (a move then pays no Node start-up),
 * each taken by one admitted guest, plus a cache of modules that arrived, so the next guest of
 * the same program needs no module transfer. Runners run as an unprivileged user when the daemon
 * is root, in their own process group: a guest keeps running if the daemon is restarted.
 */
import { isRunnerAlive } from './guest-registry.js';
import type { GuestRegistry, SurvivingGuest } from './guest-registry.js';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { OsmoError } from '../core/errors.js';
import type { Logger } from '../platform/logger.js';
import type { RunnerNotice, RunnerOrder } from './runner-ipc.js';

export interface RunnerPoolOptions {
  /** The `osmo` entry script (runners are `osmo runner`). */
  readonly script: string;
  /** Address runners listen on for their deputy's link. */
  readonly host: string;
  /** The node's name, for runners' logs and a native program's OSMOSIS_NODE. */
  readonly node?: string;
  readonly spare: number;
  readonly user: { uid: number; gid: number } | undefined;
  readonly tls: boolean;
  readonly log: Logger;
  /** The number of guests running or on their way changed. */
  readonly onChange: () => void;
  /** Where guests are recorded, for a daemon restarted while they run (guest-registry.ts). */
  readonly registry?: GuestRegistry;
  /** Whether a runner process from before a restart still runs (tests give a fake). */
  readonly isAlive?: (pid: number) => boolean;
  /** How often runners from before a restart are checked, ms. Default 2000. */
  readonly survivorCheckMs?: number;
}

interface Runner {
  child: ChildProcess;
  port: Promise<number>;
  assigned: boolean;
  running: boolean;
  /** The per-migration secret of the guest it was assigned to. */
  token?: string;
  /** Whose program it runs (its home node and pid there). */
  guest?: GuestOf;
  /** A native program's process group while it runs (ended here if the runner dies first). */
  group?: number;
}

/** A guest's identity at its home. */
export interface GuestOf {
  readonly home: string;
  readonly pid: number;
  /** The job it belongs to (osmo run -J), when its home said. */
  readonly job?: string;
  /** A native program (osmo run -E): it never moves, and leaves when it ends. */
  readonly native?: true;
}

export interface Assignment {
  port: number;
  token: string;
  hasModule: boolean;
  /** The runner expects its link wrapped in TLS. */
  tls: boolean;
}

const MODULE_CACHE_BYTES = 512 << 20;

export class RunnerPool {
  private readonly spares: Runner[] = [];
  private readonly busy = new Set<Runner>();
  private readonly modules = new Map<string, Uint8Array>();
  private moduleBytes = 0;
  private stopped = false;
  private readonly leaveWaiters = new Set<() => void>();
  /**
   * Runners with a guest that outlived the daemon before this one (not our children: no IPC,
   * no exit event), by pid, checked every survivorCheckMs until they end.
   */
  private readonly survivors = new Map<number, SurvivingGuest>();
  private survivorTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: RunnerPoolOptions) {}

  start(): void {
    while (this.spares.length < this.o.spare) this.spares.push(this.spawn(this.o.user));
  }

  /**
   * Takes in the guests recorded by an earlier daemon whose runners still run; returns how many.
   * Call once, at start-up.
   */
  adoptSurvivors(): number {
    const registry = this.o.registry;
    if (registry === undefined) return 0;
    const isAlive = this.o.isAlive ?? isRunnerAlive;
    for (const survivor of registry.survivors(isAlive))
      this.survivors.set(survivor.runnerPid, survivor);
    if (this.survivors.size > 0) {
      this.survivorTimer = setInterval(() => {
        for (const [runnerPid, { group }] of [...this.survivors]) {
          if (isAlive(runnerPid)) continue;
          // No exit event for a runner that is not our child: a group still recorded is that of
          // a native program that was running when its runner died.
          if (group !== undefined)
            this.endOrphanedGroup(group, 'gone (a runner from before a restart)');
          this.survivors.delete(runnerPid);
          registry.forget(runnerPid);
          this.changed();
        }
        if (this.survivors.size === 0) clearInterval(this.survivorTimer);
      }, this.o.survivorCheckMs ?? 2000).unref();
      this.o.onChange();
    }
    return this.survivors.size;
  }

  /** Guests running here plus those admitted and not yet running. */
  get guests(): number {
    return this.busy.size + this.survivors.size;
  }

  get runningGuests(): number {
    let n = this.survivors.size;
    for (const r of this.busy) if (r.running) n++;
    return n;
  }

  hasModule(hash: string): boolean {
    return this.modules.has(hash);
  }

  /** The guests here (running or on their way), by home and pid. */
  guestList(): (GuestOf & { running: boolean })[] {
    const out: (GuestOf & { running: boolean })[] = [];
    for (const r of this.busy)
      if (r.guest !== undefined) out.push({ ...r.guest, running: r.running });
    for (const { guest } of this.survivors.values()) out.push({ ...guest, running: true });
    return out;
  }

  /**
   * Resolves true once none of `leaving` is here (each gone, however), or false after
   * `timeoutMs`. Other guests may stay: a native program, which never moves, is not waited for.
   */
  untilGone(leaving: readonly GuestOf[], timeoutMs: number): Promise<boolean> {
    const keys = new Set(leaving.map((g) => `${g.home}:${g.pid}`));
    const gone = (): boolean => this.guestList().every((g) => !keys.has(`${g.home}:${g.pid}`));
    if (gone()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.leaveWaiters.delete(check);
        resolve(false);
      }, timeoutMs);
      const check = (): void => {
        if (!gone()) return;
        this.leaveWaiters.delete(check);
        clearTimeout(timer);
        resolve(true);
      };
      this.leaveWaiters.add(check);
    });
  }

  /** Gives an admitted guest a runner; its deputy then connects with the token. */
  async assign(moduleHash: string, guest?: GuestOf): Promise<Assignment> {
    const runner = this.spares.shift() ?? this.spawn(this.o.user);
    this.start();
    return this.hand(runner, guest, moduleHash);
  }

  /**
   * Gives an admitted native program (osmo run -E) a runner of its own, started as `user` (the
   * program's user, when this daemon is root; undefined: as this daemon), never a spare: spares
   * run as the runner user, and a native program must run as the one who started it.
   */
  assignNative(
    guest: GuestOf,
    user: { uid: number; gid: number } | undefined,
  ): Promise<Assignment> {
    return this.hand(this.spawn(user), { ...guest, native: true }, undefined);
  }

  private async hand(
    runner: Runner,
    guest: GuestOf | undefined,
    moduleHash: string | undefined,
  ): Promise<Assignment> {
    runner.assigned = true;
    if (guest !== undefined) runner.guest = guest;
    this.busy.add(runner);
    this.recordGuest(runner);
    this.o.onChange();
    const port = await runner.port;
    const token = randomBytes(32).toString('hex');
    runner.token = token;
    const cached = moduleHash === undefined ? undefined : this.modules.get(moduleHash);
    const order: RunnerOrder = {
      t: 'assign',
      token,
      tls: this.o.tls,
      ...(moduleHash === undefined && { native: true }),
      ...(cached === undefined ? {} : { module: { hash: moduleHash!, bytes: cached } }),
    };
    runner.child.send(order);
    return { port, token, hasModule: cached !== undefined, tls: this.o.tls };
  }

  /**
   * The home gave up the place assigned with `token` before its guest came: that runner ends
   * now instead of after ASSIGNMENT_TIMEOUT_MS, and the place is free. A runner whose guest
   * runs is not touched. Returns whether one was freed.
   */
  withdraw(token: string): boolean {
    for (const r of this.busy) {
      if (r.token !== undefined && r.token === token && !r.running) {
        r.child.kill('SIGTERM');
        return true;
      }
    }
    return false;
  }

  private spawn(user: { uid: number; gid: number } | undefined): Runner {
    const args = ['runner', '--host', this.o.host, '--daemon-pid', String(process.pid)];
    const child = fork(this.o.script, [...args, ...this.nodeArgs()], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      detached: true,
      ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
    });
    let ready: (port: number) => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    const runner: Runner = {
      child,
      port: new Promise<number>((resolve, reject) => {
        ready = resolve;
        failed = reject;
      }),
      assigned: false,
      running: false,
    };
    runner.port.catch(() => undefined);
    child.on('message', (m: RunnerNotice) => this.onNotice(runner, m, ready));
    child.on('error', (e) => failed(new OsmoError('E_INTERNAL', `guest runner: ${e.message}`)));
    child.on('exit', (code, signal) => {
      failed(
        new OsmoError('E_INTERNAL', `guest runner ended before it was ready (${signal ?? code})`),
      );
      if (runner.group !== undefined) this.endOrphanedGroup(runner.group, signal ?? code);
      const i = this.spares.indexOf(runner);
      if (i >= 0) this.spares.splice(i, 1);
      if (this.busy.delete(runner)) {
        if (runner.guest !== undefined && child.pid !== undefined)
          this.o.registry?.forget(child.pid);
        this.changed();
      }
      if (!runner.assigned && !this.stopped)
        this.o.log.warn('spare guest runner ended', { code, signal });
    });
    return runner;
  }

  private nodeArgs(): string[] {
    return this.o.node === undefined ? [] : ['--node', this.o.node];
  }

  private onNotice(runner: Runner, m: RunnerNotice, ready: (port: number) => void): void {
    switch (m.t) {
      case 'ready':
        ready(m.port);
        return;
      case 'module':
        this.keepModule(m.hash, m.bytes);
        return;
      case 'running':
        runner.running = m.now;
        if (!m.now && runner.group !== undefined) {
          runner.group = undefined;
          this.recordGuest(runner);
        }
        this.o.onChange();
        return;
      case 'group':
        if (Number.isInteger(m.pgid) && m.pgid > 1) {
          runner.group = m.pgid;
          this.recordGuest(runner); // for a daemon after this one, should the runner outlive us
          // The program waits for this before it runs (platform/start-gate.ts).
          if (runner.child.connected)
            runner.child.send({ t: 'recorded', pgid: m.pgid }, undefined, {}, () => undefined);
        }
        return;
    }
  }

  /**
   * Writes the runner's guest (and a native program's group) to the registry; not once the
   * runner has ended and its record is gone (a notice may come after its exit).
   */
  private recordGuest(runner: Runner): void {
    const pid = runner.child.pid;
    if (runner.guest === undefined || pid === undefined || !this.busy.has(runner)) return;
    try {
      this.o.registry?.record(pid, runner.guest, runner.group);
    } catch (error) {
      // Not fatal: only a restart of this daemon would then lose count of this guest.
      this.o.log.warn('guest not recorded', { error: (error as Error).message });
    }
  }

  /**
   * A native program's runner died while the program ran (killed with SIGKILL, or crashed): the
   * program itself dies with it (its parent-death signal), but what it started would run on
   * unseen, with nobody to report to. Its process group is ended here.
   */
  private endOrphanedGroup(pgid: number, how: string | number | null): void {
    try {
      process.kill(-pgid, 'SIGKILL');
      this.o.log.warn("a native program's runner died: its process group ended", { pgid, how });
    } catch {
      // The group is gone already.
    }
  }

  private keepModule(hash: string, bytes: Uint8Array): void {
    if (this.modules.has(hash) || bytes.length > MODULE_CACHE_BYTES) return;
    this.modules.set(hash, bytes);
    this.moduleBytes += bytes.length;
    // Oldest first out (Map keeps insertion order).
    for (const [h, b] of this.modules) {
      if (this.moduleBytes <= MODULE_CACHE_BYTES) break;
      this.modules.delete(h);
      this.moduleBytes -= b.length;
    }
  }

  /** The number of guests changed: tell the daemon, and whoever waits for guests to leave. */
  private changed(): void {
    this.o.onChange();
    for (const check of [...this.leaveWaiters]) check();
  }

  /** Ends the spare runners; runners holding guests go on (and end with their guests). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.survivorTimer);
    for (const r of this.spares.splice(0)) r.child.kill('SIGTERM');
    for (const r of this.busy) {
      r.child.disconnect();
      r.child.unref();
    }
  }
}
