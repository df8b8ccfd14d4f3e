/**
 * One program and its deputy on this node: the host backend, the guest running in its worker,
 * and what the user can do to it while it runs — checkpoint, freeze, continue (issue 3). `osmo
 * run` and `osmo restart` both compose one; the per-process control socket drives it.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { OsmoError } from '../core/errors.js';
import type { HostBackend } from '../deputy/host-backend.js';
import { createSyscallHandler } from '../deputy/syscall-server.js';
import type { ClockOrigins } from '../runtime/guest-clocks.js';
import type { ImageWritten } from '../runtime/local-guest.js';
import { LocalGuest } from '../runtime/local-guest.js';
import { HOME, MovableGuest } from '../migration/movable-guest.js';
import type { MoveResult, MoveTarget } from '../migration/movable-guest.js';
import type { RunnerGrant } from '../migration/remote-placement.js';
import { requestOnce } from '../daemon/control-client.js';
import type { Program } from '../runtime/load-program.js';
import type { SyscallBackend } from '../wasi/backend.js';
import { mailboxDelivery } from './mailbox-delivery.js';
import type { MailboxFiles } from './mailbox-files.js';
import type { ProcSelfFiles } from './proc-self.js';
import type { Preopen } from './run.js';
import { warn } from './report.js';
import { RemoteUsage, SyscallCounters } from './process-profile.js';
import { reentryAllowed } from '../runtime/tier-up.js';

export interface SessionOptions {
  program: Program;
  /** The module to run: the program's, or its instrumented form (preemptible). */
  module: WebAssembly.Module;
  preemptible: boolean;
  args: string[];
  env: string[];
  preopens: Preopen[];
  backend: HostBackend;
  /** What serves the system calls, when not the backend itself (the /proc/self decorator). */
  syscalls?: SyscallBackend;
  /** /proc/self/checkpoint* for this program. */
  procSelf?: ProcSelfFiles;
  /** /proc/mailbox for this program (ADR 0021). */
  mailboxes?: MailboxFiles;
  strace: boolean;
  checkpointFile?: string;
  /** Keep this many numbered checkpoints (FILE.1 … FILE.N, oldest overwritten); 1 = FILE itself. */
  checkpointKeep?: number;
  checkpointEveryMs?: number;
  restoreFrom?: string;
  clocks?: ClockOrigins;
  /** OSMOSIS_CHECKPOINT_TICKS: the guest checkpoints itself at these tick counts (tests). */
  checkpointAtTicks?: bigint[];
  /** How the program can move to other nodes (a preemptible program with a daemon here). */
  mobility?: Mobility;
  /** The daemon of this node, when one runs: its balancer watches the program (and counts it). */
  homeDaemon?: { socket: string; node: string };
  /** The program is to start on this node, not here ({@link DeputySession.startAway}). */
  startAway?: string;
  /** The job it belongs to (osmo run -J), shown by osmo ps. */
  job?: string;
}

export interface Mobility {
  /** The local daemon's control socket. */
  daemonSocket: string;
  /** This node's name (as the daemon knows it): migrating there means home. */
  homeNode: string;
  /** The instrumented module as sent to other nodes, and its sha256. */
  moduleBytes: Uint8Array;
  moduleHash: string;
  /** Memory the program will need (mosrun -m): only nodes with that much free admit it. */
  memoryBytes: number;
  /** The home's balancer may move it by itself (not -L). */
  autoMigrate: boolean;
  /** The job it belongs to (osmo run -J): told to each node that admits it (osmo ctl status). */
  job?: string;
}

/** The deputy's part of an image: enough to build the same deputy again (osmo restart). */
export interface DeputyImageState {
  version: 1;
  program: string;
  moduleHash: string;
  args: string[];
  env: string[];
  preopens: Preopen[];
  cwd: string;
  fds: ReturnType<HostBackend['describeFds']>;
  checkpointFile?: string;
  checkpointKeep?: number;
  /** Mailbox records not yet read (base64), in order; absent when none. */
  mailbox?: string[];
}

/** This program's home node as others name it: the daemon's node name, else "local". */
export function homeNodeOf(options: SessionOptions): string {
  return options.homeDaemon?.node ?? options.mobility?.homeNode ?? 'local';
}

export class DeputySession {
  readonly guest: MovableGuest;
  readonly startedAt = new Date();
  readonly counters = new SyscallCounters();
  /** CPU used and memory held on other nodes; only a program that can move has any. */
  readonly remoteUsage: RemoteUsage | undefined;
  /** The memory last seen: a program just moved is as big as before until its runner says. */
  private lastMemoryBytes = 0;
  private checkpoints = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Checkpoint settings; the program may change them through /proc/self. */
  private checkpointFile: string | undefined;
  private checkpointKeep: number | undefined;
  private checkpointEveryMs: number | undefined;

  constructor(readonly options: SessionOptions) {
    const local = new LocalGuest({
      module: options.module,
      moduleHash: options.program.hash,
      args: options.args,
      env: options.env,
      handler: this.counters.wrap(
        createSyscallHandler(options.syscalls ?? options.backend, (error) =>
          warn(`bad system-call request from the guest: ${String(error)}`),
        ),
      ),
      strace: options.strace,
      reentry: reentryAllowed(options.program.bytes),
      ...(options.restoreFrom === undefined ? {} : { restoreFrom: options.restoreFrom }),
      ...(options.clocks === undefined ? {} : { clocks: options.clocks }),
      ...(options.checkpointAtTicks === undefined
        ? {}
        : { checkpointAtTicks: options.checkpointAtTicks }),
      selfCheckpoint: () => ({ file: this.nextCheckpointFile(), deputy: () => this.deputyState() }),
      cancelWaits: () => options.backend.cancelWaits(),
      deferStart: options.startAway !== undefined,
    });
    const mobility = options.mobility;
    const controlFiles = options.procSelf?.dir;
    this.guest = new MovableGuest(local, {
      offer: {
        moduleHash: mobility?.moduleHash ?? '',
        programHash: options.program.hash,
        moduleBytes: () => mobility?.moduleBytes ?? new Uint8Array(),
        args: options.args,
        env: options.env,
        strace: options.strace,
        // At each move: the files it has open for writing then.
        get pipelinedFds() {
          return options.backend.pipelinableFds(controlFiles);
        },
      },
      pipelinable: (fd) => options.backend.writeCanBePipelined(fd, controlFiles),
      // `OSMOSIS_READ_AHEAD=off`: every read a round trip (to measure what it gains).
      ...(process.env.OSMOSIS_READ_AHEAD === 'off'
        ? {}
        : {
            readAhead: {
              offsetOf: (fd: number) => options.backend.readAheadOffset(fd, controlFiles),
              readAt: (fd: number, dest: Uint8Array, at: bigint) =>
                options.backend.readAheadAt(fd, dest, at),
            },
          }),
      // Merged pipelined writes still count as the system calls the program made.
      writesMerged: (count) => (this.counters.syscalls += count),
      scratchFile: (purpose) => join(imageDir(), `${process.pid}.${purpose}.osmosnap`),
      cancelWaits: () => options.backend.cancelWaits(),
      selfCheckpoint: () => ({ file: this.nextCheckpointFile(), deputy: () => this.deputyState() }),
      notice: warn,
    });
    this.checkpointFile = options.checkpointFile;
    this.checkpointKeep = options.checkpointKeep;
    this.checkpointEveryMs = options.checkpointEveryMs;
    this.schedule();
    if (options.procSelf !== undefined) {
      options.procSelf.actions = {
        settings: () => ({
          checkpointFile: this.checkpointFile,
          checkpointKeep: this.checkpointKeep,
          checkpointEveryMs: this.checkpointEveryMs,
        }),
        update: (change) => {
          if ('checkpointFile' in change) this.checkpointFile = change.checkpointFile;
          if ('checkpointKeep' in change) this.checkpointKeep = change.checkpointKeep;
          if ('checkpointEveryMs' in change) this.checkpointEveryMs = change.checkpointEveryMs;
          this.schedule();
        },
        checkpointNow: () => this.guest.requestSelfCheckpoint(),
      };
      options.procSelf.refresh();
    }
    if (options.mailboxes !== undefined) {
      options.mailboxes.deliver = mailboxDelivery({
        from: { home: homeNodeOf(options), pid: process.pid },
        daemonSocket: options.homeDaemon?.socket,
      });
    }
    this.remoteUsage =
      options.mobility === undefined ? undefined : new RemoteUsage(() => this.guest.placement);
    void this.guest.outcome.then(() => {
      clearInterval(this.timer);
      this.remoteUsage?.stop();
    });
  }

  /** Periodic checkpoints, per the current settings. */
  private schedule(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.checkpointEveryMs === undefined || this.checkpointFile === undefined) return;
    this.timer = setInterval(() => {
      if (this.guest.state !== 'running') return;
      this.checkpoint().catch((e: unknown) =>
        warn(`periodic checkpoint failed: ${e instanceof Error ? e.message : String(e)}`),
      );
    }, this.checkpointEveryMs);
    this.timer.unref();
  }

  deputyState(): DeputyImageState {
    const o = this.options;
    const procSelfDir = o.procSelf?.dir;
    const mailbox = o.mailboxes?.pending() ?? [];
    return {
      version: 1,
      program: resolve(o.program.path),
      moduleHash: o.program.hash,
      args: o.args,
      env: o.env,
      preopens: o.preopens,
      cwd: process.cwd(),
      // The /proc/self files are made anew by a restart; an fd open on one is not carried.
      fds: o.backend
        .describeFds()
        .filter((d) => procSelfDir === undefined || !d.hostPath.startsWith(`${procSelfDir}/`)),
      ...(this.checkpointFile === undefined ? {} : { checkpointFile: this.checkpointFile }),
      ...(this.checkpointKeep === undefined ? {} : { checkpointKeep: this.checkpointKeep }),
      ...(mailbox.length === 0 ? {} : { mailbox: mailbox.map((r) => r.toString('base64')) }),
    };
  }

  /** Takes a checkpoint into `file`, or the next of the configured checkpoint files. */
  checkpoint(file?: string): Promise<ImageWritten> {
    this.requirePreemptible('checkpoint');
    return this.guest.checkpoint(file ?? this.nextCheckpointFile(), () => this.deputyState());
  }

  /** Freezes into `file`, else FILE.frozen next to --checkpoint-file, else the frozen directory. */
  freeze(file?: string): Promise<ImageWritten> {
    this.requirePreemptible('freeze');
    const base = this.checkpointFile;
    const target =
      file ?? (base === undefined ? join(imageDir(), `${process.pid}.osmosnap`) : `${base}.frozen`);
    return this.guest.freeze(target, () => this.deputyState());
  }

  /** The program's linear memory wherever it runs; 0 while frozen (its image holds it). */
  get memoryBytes(): number {
    if (this.guest.state === 'frozen') return 0;
    const now =
      this.guest.placement === undefined
        ? this.guest.memoryBytesHere
        : (this.remoteUsage?.memoryBytes ?? 0);
    if (now > 0) this.lastMemoryBytes = now;
    return this.lastMemoryBytes;
  }

  /**
   * Moves the program to node `to`, or home ("home" or this node's own name). `expectedQueue`
   * goes with the admission request (an automatic move's view of `to`).
   */
  migrate(to: string, expectedQueue?: number): Promise<MoveResult> {
    this.requirePreemptible('migrate');
    const mobility = this.options.mobility;
    if (to === HOME || to === mobility?.homeNode) return this.guest.migrate(HOME);
    if (mobility === undefined) {
      throw new OsmoError(
        'E_NO_NODE',
        `cannot migrate process ${process.pid}: no daemon was running on this node when it started (start \`osmo daemon\`, then run the program again)`,
      );
    }
    return this.guest.migrate(admittedBy(mobility, to, expectedQueue, this.memoryBytes));
  }

  /**
   * Starts the program on the node named by the startAway option, from its beginning, without
   * running it here first. `expectedQueue`: what its home counted on there when it chose it
   * (the node refuses the start if more run there now). A node that refuses it is replaced by
   * `next`'s choice (MovableGuest.startAt); if none takes it or the start fails, it starts here.
   */
  startAway(expectedQueue?: number, next?: NextStartChoice): Promise<MoveResult> {
    const { mobility, startAway } = this.options;
    if (mobility === undefined || startAway === undefined)
      throw new OsmoError('E_USAGE', 'the program was not set to start elsewhere');
    const another =
      next === undefined
        ? undefined
        : async (refused: readonly string[]) => {
            const choice = await next(refused);
            return choice === undefined
              ? undefined
              : admittedBy(mobility, choice.node, choice.expectedQueue);
          };
    return this.guest.startAt(admittedBy(mobility, startAway, expectedQueue), another);
  }

  private nextCheckpointFile(): string {
    const base = this.checkpointFile ?? join(imageDir(), `${process.pid}.checkpoint.osmosnap`);
    const keep = this.checkpointKeep ?? 1;
    if (keep <= 1) return base;
    this.checkpoints++;
    return `${base}.${((this.checkpoints - 1) % keep) + 1}`;
  }

  private requirePreemptible(what: string): void {
    if (!this.options.preemptible) {
      throw new OsmoError(
        'E_USAGE',
        `cannot ${what} process ${process.pid}: it was started without --preemptible (or a --checkpoint option)`,
      );
    }
  }
}

/**
 * Where a new program starts when not at home and, when its home's daemon chose the node (-b),
 * the processes the choice counted on there (the node's consent).
 */
export interface StartChoice {
  readonly node: string;
  readonly expectedQueue?: number;
}

/** Another node to start on, without those in `refused`; undefined: start at home. */
export type NextStartChoice = (refused: readonly string[]) => Promise<StartChoice | undefined>;

/**
 * A move target whose daemon is asked, through the one here, to admit this program: it needs
 * the memory it has (`memoryBytes`) or what -m said, whichever is more.
 */
function admittedBy(
  mobility: Mobility,
  node: string,
  expectedQueue?: number,
  memoryBytes = 0,
): Exclude<MoveTarget, 'home'> {
  return {
    node,
    withdraw: (grant: RunnerGrant) =>
      requestOnce(mobility.daemonSocket, 'withdraw', { node, token: grant.token }, 1000),
    admit: () =>
      requestOnce(
        mobility.daemonSocket,
        'place',
        {
          node,
          pid: process.pid,
          memoryBytes: Math.max(mobility.memoryBytes, memoryBytes),
          moduleHash: mobility.moduleHash,
          ...(expectedQueue !== undefined && { expectedQueue }),
          ...(mobility.job !== undefined && { job: mobility.job }),
        },
        20_000,
      ),
  };
}

/**
 * Where images go when the user named no file: a private directory of this user's
 * ($XDG_STATE_HOME/osmosis/images, default ~/.local/state/osmosis/images), never the cwd.
 */
export function imageDir(): string {
  const state = process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  const dir = join(state, 'osmosis', 'images');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
