/**
 * The decision loop of a home node (MOSIX's automatic migration): the programs started here
 * register (`adopt`, repeated while they run); each interval the balancer asks each of them for
 * its `info` over its own process-control socket — the numbers come from the program's deputy,
 * not from whoever registered it — turns two readings into a profile (CPU share, system-call
 * rate, I/O through home, size, residency), hands the profiles and the gossip view to the pure
 * policy (balance/policy.ts) and carries out the moves it decides with `migrate`, logging why.
 */
import type { Clock } from '../core/clock.js';
import { OsmoError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import type {
  BalanceSettings,
  Move,
  NodeView,
  PendingMove,
  ProcessProfile,
} from '../balance/policy.js';
import { needsConsent } from '../balance/consent.js';
import { LinkRates } from '../balance/link-rates.js';
import type { LinkRatesOptions } from '../balance/link-rates.js';
import { chooseStart, countedQueue, decideMoves } from '../balance/policy.js';
import { decideFlood } from '../balance/flood.js';
import type { FloodProgram } from '../balance/flood.js';
import type { Logger } from '../platform/logger.js';
import { ProcessControlClient } from '../process-control/client.js';
import { openSocket } from '../process-control/client.js';
import type { ProcessInfo } from '../process-control/types.js';
import { parseProcessInfo } from '../process-control/protocol.js';
import type { AdoptResult, MigrationEvent } from './control-protocol.js';
import type { MoveCount } from './metrics.js';

/** The part of a process-control client the balancer uses (tests give a fake). */
export interface ProgramLink {
  info(): Promise<ProcessInfo>;
  migrate(to: string, expectedQueue?: number): Promise<unknown>;
  freeze(): Promise<unknown>;
  continue(): Promise<unknown>;
  close(): void;
}

export interface HomeBalancerOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  /** This node's name: the home of every program here. */
  readonly home: string;
  readonly enabled: boolean;
  readonly intervalMs: number;
  /**
   * How long a move counts as pending: until the target's advertised load shows it (gossip
   * delay plus the load's slow rise).
   */
  readonly settleMs: number;
  readonly settings: BalanceSettings;
  /** What the links learnt from moves stand for: clusters, and another cluster's line. */
  readonly links?: LinkRatesOptions;
  /** Every live node (this one included), as the policy sees it. */
  readonly view: () => readonly NodeView[];
  readonly connect?: (socket: string, pid: number) => Promise<ProgramLink>;
  /** Flood control (balance/flood.ts): most programs of this home running here; 0 = no limit. */
  readonly maxLocalProcesses?: number;
  /** Flood control: a frozen program's turn comes after about this long; 0 = only as room frees. */
  readonly frozenTurnMs?: number;
}

interface Reading {
  readonly atMs: number;
  readonly cpuTimeMs: number;
  /** Of it, what was used where it ran at the reading: at home, or away. */
  readonly cpuTimeThereMs: number;
  readonly where: string;
  /** Its calls' waits on home while away, so far (undefined: a deputy that does not say). */
  readonly homeWaitMs: number | undefined;
  readonly syscalls: number;
  readonly ioBytes: number;
}

interface Program {
  readonly pid: number;
  socket: string;
  /**
   * The connection its readings go over, kept from round to round: a new connection every
   * second costs the program's deputy (on a busy home, many of them) more than the reading.
   */
  reader?: ProgramLink;
  adoptedAtMs: number;
  last?: Reading;
  profile?: ProcessProfile;
  info?: ProcessInfo;
  moving: boolean;
  /** Frozen by flood control (and since when it waits), not by its user. */
  floodFrozenAtMs?: number;
  /** Since when it runs here after flood control continued it (its turn began). */
  floodResumedAtMs?: number;
  /** Its move count when its latest move was learnt from (ProcessInfo.lastMove). */
  movesLearnt?: number;
}

/**
 * A move asked for from outside the policy — by the node the program runs on (its administrator's
 * osmo ctl expel, or the priority method pushing it out) or by this home's administrator (osmo
 * ctl bring): no consent, no expectations.
 */
interface AskedMove {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly reason: ExpelReason | 'brought home';
}

/** Why the node a program runs on asks its home to move it away. */
export type ExpelReason = 'expelled' | 'pushed out';

/** How many of the latest migrations `osmo status` shows. */
const EVENTS_KEPT = 32;
/**
 * A program that has not renewed its adoption in this many intervals is forgotten (one that
 * ended is forgotten at once: its socket is gone). Programs renew twice within it: a renewal is
 * a connection to this daemon, and a busy home runs many programs.
 */
const RENEW_INTERVALS = 10;

export class HomeBalancer {
  private readonly programs = new Map<number, Program>();
  private readonly recent: { atMs: number; move: PendingMove }[] = [];
  /** When programs were last started here (osmo run -b chose home): maybe not in the load yet. */
  private readonly startsHere: number[] = [];
  private readonly events: MigrationEvent[] = [];
  /** Moves carried out, by reason and outcome (all of them: events keeps the latest only). */
  private readonly moveCounts = new Map<string, { reason: string; ok: boolean; count: number }>();
  private readonly startedAt: number;
  private ticking = false;
  /** The links to other nodes, measured by this home's moves: what the next move would cost. */
  private readonly links: LinkRates;
  /** The configured settings, with the links as measured. */
  private readonly settings: BalanceSettings;

  constructor(private readonly options: HomeBalancerOptions) {
    this.startedAt = options.clock.now();
    this.links = new LinkRates(options.home, options.links);
    this.settings = {
      ...options.settings,
      measuredLinkBytesPerSec: (node) => this.links.rate(node),
    };
  }

  /** A program of this home asks to be watched (again). */
  adopt(args: Record<string, unknown>): AdoptResult {
    const { pid, socket } = args;
    if (
      typeof pid !== 'number' ||
      !Number.isSafeInteger(pid) ||
      pid <= 0 ||
      typeof socket !== 'string' ||
      socket === ''
    ) {
      throw new OsmoError('E_USAGE', 'adopt needs {pid: a positive integer, socket: a path}');
    }
    // What the program says of itself, until the first reading: one stopped at once (Ctrl-Z)
    // would otherwise be missing from osmo ps until it is continued.
    const told = parseProcessInfo(args.info);
    const info = told?.pid === pid ? told : undefined;
    const now = this.options.clock.now();
    const known = this.programs.get(pid);
    if (known === undefined) {
      this.programs.set(pid, {
        pid,
        socket,
        adoptedAtMs: now,
        moving: false,
        ...(info !== undefined && { info }),
      });
    } else {
      if (known.socket !== socket) this.dropReader(known);
      known.socket = socket;
      known.adoptedAtMs = now;
      if (info !== undefined && known.last === undefined) known.info = info;
    }
    return {
      balancing: this.options.enabled,
      renewMs: (this.options.intervalMs * RENEW_INTERVALS) / 2,
    };
  }

  /** Closes the connections to the programs (the daemon stops; the programs go on). */
  stop(): void {
    for (const p of this.programs.values()) this.dropReader(p);
  }

  /** Programs of this home that run here now (the load, when it counts Osmosis programs). */
  runningHere(): number {
    let n = 0;
    for (const p of this.programs.values()) {
      if (p.info?.where === this.options.home && p.info.state === 'running') n++;
    }
    return n;
  }

  get watched(): number {
    return this.programs.size;
  }

  /** The latest reading of every program of this home (≤ one interval old), with its socket. */
  programInfos(): { info: ProcessInfo; socket: string }[] {
    const out: { info: ProcessInfo; socket: string }[] = [];
    for (const p of this.programs.values()) {
      if (p.info !== undefined) out.push({ info: p.info, socket: p.socket });
    }
    return out;
  }

  /** Every move carried out since the daemon started, by reason and outcome (for metrics). */
  movesCounted(): MoveCount[] {
    return [...this.moveCounts.values()].map((m) => ({ ...m }));
  }

  latestMigrations(): MigrationEvent[] {
    return [...this.events];
  }

  /** The links this home's moves measured: node → bytes a second. */
  measuredLinks(): Record<string, number> {
    return this.links.snapshot();
  }

  /** The same per cluster: cluster → bytes a second. */
  measuredClusterLinks(): Record<string, number> {
    return this.links.clusterSnapshot();
  }

  /**
   * Where a new program of this home should start (osmo run -b): the policy's chooseStart on
   * the same view and pending moves as the balancing rounds, but for the nodes in `refused`
   * (they refused this program's start: more ran there than counted on); the choice becomes
   * pending too. `expectedQueue`: the processes counted on there, which the start tells it (its
   * consent: ../balance/consent.ts).
   */
  startNode(
    memoryBytes: number,
    refused: readonly string[] = [],
  ): { node: string; expectedQueue: number } {
    const now = this.options.clock.now();
    this.expirePending(now);
    const nodes = this.view();
    const pending = this.recent.map((r) => r.move);
    const node = chooseStart({
      nodes,
      pending,
      memoryBytes,
      refused,
      settings: this.settings,
      random: this.options.random,
    });
    const expectedQueue = countedQueue(nodes, pending, this.options.home, node);
    if (node !== this.options.home) {
      this.recent.push({ atMs: now, move: { from: this.options.home, to: node, memoryBytes } });
    } else {
      this.startsHere.push(now);
    }
    return { node, expectedQueue };
  }

  /**
   * The gossip view, with this node's run queue raised by the programs that came or started
   * here within the settle time: its own load rises slowly (a 5:3 average each second), and
   * without them every round would see an idle home and call more programs back (or keep
   * every program started together).
   */
  private view(): NodeView[] {
    const home = this.options.home;
    const arrivals = this.startsHere.length + this.recent.filter((r) => r.move.to === home).length;
    return this.options
      .view()
      .map((v) =>
        v.name === home && arrivals > 0 ? { ...v, runQueue: v.runQueue + arrivals } : v,
      );
  }

  private expirePending(now: number): void {
    const before = now - this.options.settleMs;
    while (this.recent.length > 0 && this.recent[0]!.atMs < before) this.recent.shift();
    while (this.startsHere.length > 0 && this.startsHere[0]! < before) this.startsHere.shift();
  }

  /** One round: read every program, then decide and start the moves. */
  async tick(): Promise<void> {
    if (this.ticking) return; // a slow round is not stacked on
    this.ticking = true;
    try {
      await this.readAll();
      this.controlFlood();
      if (this.options.enabled) this.decide();
    } finally {
      this.ticking = false;
    }
  }

  private async readAll(): Promise<void> {
    const now = this.options.clock.now();
    const stale = now - this.options.intervalMs * RENEW_INTERVALS;
    await Promise.all(
      [...this.programs.values()].map(async (p) => {
        if (p.moving) return; // its move reports back; read it next round
        if (p.adoptedAtMs < stale) {
          this.forget(p);
          return;
        }
        try {
          this.observe(p, await this.read(p));
        } catch (error) {
          // Gone (it ended): forgotten. Slow to answer (a busy node): asked again next round.
          const code = (error as NodeJS.ErrnoException).code;
          this.dropReader(p);
          if (code === 'ENOENT' || code === 'ECONNREFUSED') this.forget(p);
        }
      }),
    );
  }

  private async read(p: Program): Promise<ProcessInfo> {
    p.reader ??= await this.link(p);
    return p.reader.info();
  }

  private dropReader(p: Program): void {
    p.reader?.close();
    p.reader = undefined;
  }

  private forget(p: Program): void {
    this.dropReader(p);
    this.programs.delete(p.pid);
  }

  private async link(p: Program): Promise<ProgramLink> {
    if (this.options.connect !== undefined) return this.options.connect(p.socket, p.pid);
    const socket = await openSocket(p.socket, 5000);
    return new ProcessControlClient(socket, p.pid, p.socket, {
      infoTimeoutMs: Math.max(5000, 3 * this.options.intervalMs),
      imageTimeoutMs: 120_000,
    });
  }

  /**
   * A move the program made since the last reading — this balancer's, or one its user or another
   * node's administrator asked for — measured a link: the next move over it is charged by that.
   */
  private learnLink(p: Program, info: ProcessInfo): void {
    const move = info.lastMove;
    if (move === undefined || info.migrations === undefined || info.migrations === p.movesLearnt) {
      return;
    }
    p.movesLearnt = info.migrations;
    if (move.transferMs === undefined) return;
    const node = (name: string) => (name === 'home' ? this.options.home : name);
    this.links.observe(node(move.from), node(move.to), move.imageBytes, move.transferMs / 1000);
  }

  /** Two readings make a profile: rates over the time between them. */
  private observe(p: Program, info: ProcessInfo): void {
    if (info.pid !== p.pid) throw new OsmoError('E_PROTO_DECODE', 'another process answered');
    const now = this.options.clock.now();
    // Its share of the CPU where it runs: away, its home's part (the deputy serving its calls) is
    // not CPU it takes there — counted in, a program reading home's files looks CPU-bound.
    const awayCpu = info.awayCpuTimeMs;
    const reading: Reading = {
      atMs: now,
      cpuTimeMs: info.cpuTimeMs,
      cpuTimeThereMs:
        awayCpu === undefined
          ? info.cpuTimeMs
          : info.where === this.options.home
            ? info.cpuTimeMs - awayCpu
            : awayCpu,
      where: info.where,
      homeWaitMs: info.awayHomeWaitMs,
      syscalls: info.syscalls ?? 0,
      ioBytes: info.ioBytes ?? 0,
    };
    this.learnLink(p, info);
    const previous = p.last;
    p.info = info;
    p.last = reading;
    if (previous === undefined || now <= previous.atMs) return;
    const seconds = (now - previous.atMs) / 1000;
    const sameNode = previous.where === reading.where;
    const away = reading.where !== this.options.home;
    p.profile = {
      id: p.pid,
      where: info.where,
      // What it needs where it goes: what it uses, or what -m said it will, whichever is more.
      memoryBytes: Math.max(info.memoryBytes, info.memoryNeedBytes ?? 0),
      // Across a move the readings count different places: all of its CPU, for that once.
      cpuShare: clamp01(
        (sameNode
          ? reading.cpuTimeThereMs - previous.cpuTimeThereMs
          : reading.cpuTimeMs - previous.cpuTimeMs) /
          1000 /
          seconds,
      ),
      workDoneSec: info.cpuTimeMs / 1000,
      syscallsPerSec: Math.max(0, reading.syscalls - previous.syscalls) / seconds,
      ioBytesPerSec: Math.max(0, reading.ioBytes - previous.ioBytes) / seconds,
      residentSinceMs: arrivedAtMs(info, now),
      movable: info.movable === true && info.state === 'running',
      ...(info.migrations === undefined ? {} : { migrations: info.migrations }),
      ...(info.cameFrom === undefined ? {} : { cameFrom: info.cameFrom }),
      ...(away && sameNode && reading.homeWaitMs !== undefined && previous.homeWaitMs !== undefined
        ? { homeWaitShare: clamp01((reading.homeWaitMs - previous.homeWaitMs) / 1000 / seconds) }
        : {}),
    };
  }

  /**
   * Flood control, each round: freezes this home's programs beyond maxLocalProcesses running
   * here, and continues the ones it froze as places free up or their turn comes.
   */
  private controlFlood(): void {
    const limit = this.options.maxLocalProcesses ?? 0;
    const programs = [...this.programs.values()];
    if (limit <= 0 && !programs.some((p) => p.floodFrozenAtMs !== undefined)) return;
    const home = this.options.home;
    const now = this.options.clock.now();
    const flood: FloodProgram[] = [];
    for (const p of programs) {
      const info = p.info;
      if (info === undefined) continue;
      // Continued by its user, or ended up elsewhere: no longer flood control's to continue.
      if (p.floodFrozenAtMs !== undefined && info.state !== 'frozen' && !p.moving)
        p.floodFrozenAtMs = undefined;
      const runningHere = !p.moving && info.where === home && info.state === 'running';
      flood.push({
        id: p.pid,
        runningHere,
        frozenByFlood: p.floodFrozenAtMs !== undefined && !p.moving,
        freezable: runningHere && info.preemptible,
        sinceMs:
          p.floodFrozenAtMs ?? Math.max(p.floodResumedAtMs ?? -Infinity, arrivedAtMs(info, now)),
      });
    }
    const decision = decideFlood({
      programs: flood,
      limit,
      turnMs: this.options.frozenTurnMs ?? 0,
      nowMs: now,
    });
    for (const pid of decision.freeze) void this.floodAct(pid, 'freeze', limit);
    for (const pid of decision.resume) void this.floodAct(pid, 'continue', limit);
  }

  private async floodAct(pid: number, act: 'freeze' | 'continue', limit: number): Promise<void> {
    const p = this.programs.get(pid);
    if (p === undefined) return;
    p.moving = true;
    this.options.log.info(act === 'freeze' ? 'flood control: frozen' : 'flood control: continued', {
      pid,
      limit,
    });
    try {
      const link = await this.link(p);
      try {
        if (act === 'freeze') await link.freeze();
        else await link.continue();
      } finally {
        link.close();
      }
      const now = this.options.clock.now();
      if (act === 'freeze') {
        p.floodFrozenAtMs = now;
        if (p.info !== undefined) p.info = { ...p.info, state: 'frozen' };
      } else {
        p.floodFrozenAtMs = undefined;
        p.floodResumedAtMs = now;
        if (p.info !== undefined) p.info = { ...p.info, state: 'running' };
      }
    } catch (error) {
      this.options.log.warn(`flood control: ${act} failed`, {
        pid,
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      p.moving = false;
    }
  }

  private decide(): void {
    const now = this.options.clock.now();
    this.expirePending(now);
    const ready = [...this.programs.values()].filter((p) => !p.moving && p.profile !== undefined);
    if (ready.length === 0) return;
    const moves = decideMoves({
      nowMs: now,
      nodes: this.view(),
      processes: ready.map((p) => p.profile!),
      pending: this.recent.map((r) => r.move),
      settings: this.settings,
      random: this.options.random,
    });
    // Under flood control a program called home past the limit would only be frozen there.
    const limit = this.options.maxLocalProcesses ?? 0;
    let room = limit > 0 ? limit - this.runningHere() : Infinity;
    for (const move of moves) {
      if (move.to === this.options.home && room-- <= 0) continue;
      void this.carryOut(move);
    }
  }

  /**
   * Node `from` asks this home's program `pid` to leave (its administrator's osmo ctl expel, or
   * a better-ranked program moving in there): it leaves for the best other node that has room for
   * it — home, for a program the balancer may not move (-L) or when no other node is better.
   * Returns where it goes; the move goes on after. A native program (osmo run -E) cannot move:
   * refused, so that the node does not wait for it to leave.
   */
  expel(pid: number, from: string, reason: ExpelReason = 'expelled'): string {
    const p = this.programs.get(pid);
    if (p === undefined)
      throw new OsmoError('E_NO_PROCESS', `${this.options.home} has no program ${pid} (ended?)`);
    if (p.info?.native === true) throw new OsmoError('E_REFUSED', neverMoves(p.info.command));
    const home = this.options.home;
    let to = home;
    if (p.info?.movable === true) {
      to = chooseStart({
        nodes: this.view().filter((v) => v.name !== from),
        pending: this.recent.map((r) => r.move),
        memoryBytes: Math.max(p.info.memoryBytes, p.info.memoryNeedBytes ?? 0),
        leaving: from,
        settings: this.settings,
        random: this.options.random,
      });
    }
    if (!p.moving) void this.carryOut({ id: pid, from, to, reason });
    return to;
  }

  /**
   * Brings every program of this home that runs elsewhere back (osmo ctl bring); resolves when
   * each move ended, with its result ('ok' or why it failed).
   */
  async bringHome(): Promise<{ pid: number; from: string; result: string }[]> {
    const home = this.options.home;
    const away = [...this.programs.values()].filter(
      (p) => !p.moving && p.info !== undefined && p.info.where !== home,
    );
    return Promise.all(
      away.map(async (p) => {
        const from = p.info!.where;
        if (p.info!.native === true)
          return { pid: p.pid, from, result: neverMoves(p.info!.command) };
        const result = await this.carryOut({ id: p.pid, from, to: home, reason: 'brought home' });
        return { pid: p.pid, from, result };
      }),
    );
  }

  private async carryOut(move: Move | AskedMove): Promise<string> {
    const p = this.programs.get(move.id);
    if (p === undefined) return 'the program ended';
    p.moving = true;
    const now = this.options.clock.now();
    this.recent.push({
      atMs: now,
      move: { from: move.from, to: move.to, memoryBytes: p.profile?.memoryBytes ?? 0 },
    });
    const automatic = 'expectedHereSec' in move;
    this.options.log.info(automatic ? 'automatic migration' : 'migration asked for', {
      pid: move.id,
      from: move.from,
      to: move.to,
      reason: move.reason,
      ...(automatic && {
        expectedHereSec: round(move.expectedHereSec),
        expectedThereSec: round(move.expectedThereSec),
      }),
    });
    let result = 'ok';
    try {
      const link = await this.link(p);
      try {
        // A load or speed move asks the target's consent: it may have more to run by now.
        const expected = automatic && needsConsent(move.reason) ? move.targetQueue : undefined;
        await link.migrate(move.to === this.options.home ? 'home' : move.to, expected);
      } finally {
        link.close();
      }
      // Rates start again where it arrived.
      if (p.info !== undefined) p.info = { ...p.info, where: move.to };
      p.last = undefined;
      p.profile = undefined;
    } catch (error) {
      result = error instanceof Error ? error.message : String(error);
      this.options.log.warn(automatic ? 'automatic migration failed' : 'migration failed', {
        pid: move.id,
        to: move.to,
        error: result,
      });
    } finally {
      p.moving = false;
    }
    const ok = result === 'ok';
    const key = `${move.reason} ${ok}`;
    const counted = this.moveCounts.get(key) ?? { reason: move.reason, ok, count: 0 };
    counted.count++;
    this.moveCounts.set(key, counted);
    this.events.push({
      atMs: Math.round(now - this.startedAt),
      pid: move.id,
      from: move.from,
      to: move.to,
      reason: move.reason,
      result,
    });
    if (this.events.length > EVENTS_KEPT) this.events.shift();
    return result;
  }
}

/** Why a native program (osmo run -E) stays where it runs. */
function neverMoves(command: readonly string[]): string {
  return `${command[0] ?? 'it'} is a native program: it never moves, and leaves its node when it ends`;
}

/** When the program arrived where it runs (its wall-clock `since`), on the daemon's clock `now`. */
function arrivedAtMs(info: ProcessInfo, now: number): number {
  return info.since === undefined ? now : now - Math.max(0, Date.now() - Date.parse(info.since));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : -1;
}
