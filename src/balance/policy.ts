/**
 * The automatic migration policy: every balancing interval a home node looks at its own
 * processes, wherever they run, and at what gossip says of every node, and decides which of them
 * to move where, and why. Pure — the daemon and the simulator call it with their view, their
 * clock and their seeded randomness — so what the simulator proves is what the daemon does.
 *
 * In order (seed 000 III-B, seed 002):
 *  1. memory ushering: a node whose free memory fell under a threshold loses the one process of
 *     ours that best relieves it, to a node with room;
 *  2. load and speed: a CPU-bound process moves when it would finish sooner elsewhere by a
 *     stability margin, counting the time its image takes on the link and what its system
 *     calls cost away from home (so I/O-heavy processes stay home and CPU-heavy ones travel),
 *     and gains several times its image's time on the link;
 *     among the nodes that qualify, the lowest opportunity cost wins, at random among near-best
 *     ones so that homes acting on the same stale view do not all pick the same node.
 * A home whose load is under its threshold keeps its processes; a process stays at least a
 * minimum residency where it arrived (no ping-pong); a node never gets a process it lacks the
 * free memory for.
 */
import type { Random } from '../core/random.js';
import { REFERENCE_SPEED } from '../gossip/types.js';
import { lnCostBase, logMarginalCost } from './opportunity-cost.js';

export { REFERENCE_SPEED };

export type MoveReason = 'memory' | 'load' | 'speed' | 'home';

/** One node as the policy sees it. */
export interface NodeView {
  readonly name: string;
  readonly cpus: number;
  /** Per-CPU speed, MOSIX units (10 000 = the reference processor). */
  readonly speed: number;
  /** Processes running there now (not divided by speed), ours included. */
  readonly runQueue: number;
  readonly freeMemBytes: number;
  readonly totalMemBytes: number;
  /** Takes guests now (not draining, reserved, blocked or full). Home always takes its own. */
  readonly accepting: boolean;
}

/** What the home knows of one of its processes (measured over the last interval). */
export interface ProcessProfile {
  readonly id: number;
  /** The node it runs on. */
  readonly where: string;
  /** Its memory image: what moving it sends, and what it needs free where it goes. */
  readonly memoryBytes: number;
  /** Fraction of a CPU it used (0..1); near 0 means it waits (stdin, sleep), so moving is moot. */
  readonly cpuShare: number;
  /** Reference-CPU seconds done so far: a process that ran long is expected to run long. */
  readonly workDoneSec: number;
  readonly syscallsPerSec: number;
  /** Bytes of I/O through home per second. */
  readonly ioBytesPerSec: number;
  /**
   * Away, measured where it runs: the fraction of the last interval its calls waited on home.
   * Used instead of the estimate from its call rate (which assumes remoteSyscallSec a call).
   */
  readonly homeWaitShare?: number;
  /** When it arrived where it runs (started, or its last move). */
  readonly residentSinceMs: number;
  /**
   * Moves it made so far. A program that never moved may move at once; after k moves it stays
   * minResidency × 2^(k−1) where it arrived (capped at 32×): a program pushed around by stale
   * views settles instead of bouncing. Unknown: taken as 1.
   */
  readonly migrations?: number;
  /** The node it left on its last move (it does not go straight back: no ping-pong). */
  readonly cameFrom?: string;
  /** False for `-L` (never moved automatically). */
  readonly movable: boolean;
}

export interface BalanceSettings {
  /** This node: the home of every process passed in. */
  readonly home: string;
  /**
   * MOSIX's stability factor: a process moves only if the target, with the process counted this
   * many times there, still beats where it is (target load + 1.3 × its load < own load).
   */
  readonly stability: number;
  /** And it must expect to finish sooner by at least this ratio (idle multi-CPU targets). */
  readonly minGain: number;
  readonly minResidencyMs: number;
  /** Processes per CPU under which the home keeps its processes home. */
  readonly homeLoadThreshold: number;
  /**
   * What an image costs to move: its bytes over this — and what a process's bytes through home
   * cost it away — until the link to a node has been measured.
   */
  readonly linkBytesPerSec: number;
  /**
   * The rate measured between home and `node` (./link-rates.ts), if it has been: a move's
   * image crosses the links of both its ends that are not home.
   */
  readonly measuredLinkBytesPerSec?: (node: string) => number | undefined;
  /** The time one system call costs a process away from home (the round trip). */
  readonly remoteSyscallSec: number;
  /** Free memory under this fraction of the total makes a node push processes away. */
  readonly memoryLowFraction: number;
  /** Targets within this fraction of the best opportunity cost are chosen among at random. */
  readonly nearBest: number;
  readonly maxMovesPerRound: number;
  /** Work expected of a process that has done less so far (seconds of reference CPU). */
  readonly minExpectedWorkSec: number;
  /**
   * A process moves for load or speed only when it is expected to run sooner by this many times
   * the time its image takes on the link. Coming home and memory ushering are not held back.
   */
  readonly moveGainFactor: number;
  /** Processes using less of a CPU than this are waiting, not computing: they stay. */
  readonly idleCpuShare: number;
  /**
   * A process does not go back to the node it came from before this long there — except home,
   * when it waits on the network longer than it computes.
   */
  readonly noReturnMs: number;
}

export const DEFAULT_BALANCE_SETTINGS: Omit<BalanceSettings, 'home'> = {
  stability: 1.3,
  minGain: 1.1,
  minResidencyMs: 3000,
  homeLoadThreshold: 1,
  linkBytesPerSec: 100e6,
  remoteSyscallSec: 100e-6,
  memoryLowFraction: 0.1,
  nearBest: 0.1,
  maxMovesPerRound: 4,
  minExpectedWorkSec: 1,
  moveGainFactor: 4,
  idleCpuShare: 0.005,
  noReturnMs: 10_000,
};

/** A move the policy decided, and why (logged, and shown by osmo ps / mon). */
export interface Move {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly reason: MoveReason;
  /** Expected seconds to finish where it is and at the target (move included). */
  readonly expectedHereSec: number;
  readonly expectedThereSec: number;
  /**
   * Processes the decision counted on at the target before this one (its view with the home's
   * moves on the way): the target refuses a load or speed move when more run there by the time
   * it asks (./consent.ts).
   */
  readonly targetQueue: number;
}

/** A move made earlier whose effect the gossip view of the other nodes may not show yet. */
export interface PendingMove {
  readonly from: string;
  readonly to: string;
  readonly memoryBytes: number;
}

export interface BalanceInput {
  readonly nowMs: number;
  readonly nodes: readonly NodeView[];
  readonly processes: readonly ProcessProfile[];
  readonly pending?: readonly PendingMove[];
  readonly settings: BalanceSettings;
  readonly random: Random;
}

interface Working {
  readonly view: NodeView;
  runQueue: number;
  freeMemBytes: number;
}

/** The view, with the pending moves applied. */
function workingView(
  views: readonly NodeView[],
  pending: readonly PendingMove[],
  home: string,
): Map<string, Working> {
  const nodes = new Map<string, Working>();
  for (const v of views) {
    nodes.set(v.name, { view: v, runQueue: v.runQueue, freeMemBytes: v.freeMemBytes });
  }
  // The home sees its own run queue as it is now; only the other end of a pending move is
  // behind — and the memory of an image still leaving home, which is as good as free.
  for (const m of pending) {
    shift(nodes, m.from === home ? '' : m.from, m.to === home ? '' : m.to, m.memoryBytes);
    const self = m.from === home ? nodes.get(home) : undefined;
    if (self !== undefined) self.freeMemBytes += m.memoryBytes;
  }
  return nodes;
}

/**
 * How much sooner a new program must expect to finish elsewhere to start there: less than the
 * stability factor of a move, since it has nothing to carry yet.
 */
const START_ADVANTAGE = 1.1;

/**
 * Where a new program of this home should start (osmo run -b, MOSIX's best node): the node
 * where it would finish soonest — the home itself unless another is better by START_ADVANTAGE —
 * among those with room for `memoryBytes`, at random among near-best ones. The caller adds the
 * choice to its pending moves.
 */
export function chooseStart(input: {
  readonly nodes: readonly NodeView[];
  readonly pending?: readonly PendingMove[];
  readonly memoryBytes: number;
  /**
   * A program that runs and must leave this node (expelled) carries its image from there, which
   * each target is charged; a new program carries none.
   */
  readonly leaving?: string;
  /** Nodes that refused this start (their consent, ./consent.ts): not chosen again. */
  readonly refused?: readonly string[];
  readonly settings: BalanceSettings;
  readonly random: Random;
}): string {
  const s = input.settings;
  const nodes = workingView(input.nodes, input.pending ?? [], s.home);
  const newcomer: ProcessProfile = {
    id: 0,
    where: s.home,
    memoryBytes: input.memoryBytes,
    cpuShare: 1,
    workDoneSec: 0,
    syscallsPerSec: 0,
    ioBytesPerSec: 0,
    residentSinceMs: 0,
    movable: true,
    migrations: 0,
  };
  const home = nodes.get(s.home);
  if (home === undefined) return s.home;
  // It needs its memory where it starts, but a new program carries none there (its module is
  // fetched by hash, its memory made there): no image to charge. At home it joins the run queue
  // too: compare with it counted everywhere.
  const starting =
    input.leaving === undefined
      ? { ...newcomer, memoryBytes: 0 }
      : { ...newcomer, where: input.leaving };
  const hereSec = expectedSec(starting, home, s, 1);
  // The soonest finish wins (in logarithms, so that near-best means within a ratio).
  const refused = input.refused ?? [];
  const qualifying = candidates(newcomer, nodes, s)
    .filter((t) => !refused.includes(t.view.name))
    .map((t) => ({ t, cost: Math.log(expectedSec(starting, t, s, 1)) }))
    .filter((o) => o.cost + Math.log(START_ADVANTAGE) < Math.log(hereSec));
  return nearBest(qualifying, s.nearBest, input.random)?.t.view.name ?? s.home;
}

/**
 * The processes a home counts on at `node` (its view, with its pending moves and starts
 * applied): what a start there tells the target, which refuses it when more run there by the
 * time it asks (./consent.ts).
 */
export function countedQueue(
  nodes: readonly NodeView[],
  pending: readonly PendingMove[],
  home: string,
  node: string,
): number {
  return workingView(nodes, pending, home).get(node)?.runQueue ?? 0;
}

/** The moves to make now (at most maxMovesPerRound), in order. */
export function decideMoves(input: BalanceInput): Move[] {
  const { settings: s } = input;
  const nodes = workingView(input.nodes, input.pending ?? [], s.home);
  const lnBase = lnCostBase(nodes.size);
  const moves: Move[] = [];
  const moved = new Set<number>();
  const settled = input.processes.filter(
    (p) => p.movable && input.nowMs - p.residentSinceMs >= residencyMs(p, s),
  );

  for (const move of usherMemory(nodes, settled, s, lnBase, input.random)) {
    if (moves.length >= s.maxMovesPerRound) return moves;
    moves.push(move);
    moved.add(move.id);
  }

  // The most CPU-hungry first: they gain most from a faster or emptier node.
  const computing = settled
    .filter((p) => !moved.has(p.id) && p.cpuShare > s.idleCpuShare)
    .sort((a, b) => b.cpuShare - a.cpuShare || a.id - b.id);
  for (const p of computing) {
    if (moves.length >= s.maxMovesPerRound) break;
    const move = betterPlace(p, nodes, s, lnBase, input.random, input.nowMs);
    if (move === undefined) continue;
    shift(nodes, move.from, move.to, p.memoryBytes);
    moves.push(move);
  }
  return moves;
}

/** How long `p` must stay where it is before it may move again. */
function residencyMs(p: ProcessProfile, s: BalanceSettings): number {
  const moves = p.migrations ?? 1;
  if (moves <= 0) return 0;
  return s.minResidencyMs * 2 ** Math.min(moves - 1, 5);
}

/** Nodes short of memory each give up the process of ours that best relieves them. */
function* usherMemory(
  nodes: Map<string, Working>,
  processes: readonly ProcessProfile[],
  s: BalanceSettings,
  lnBase: number,
  random: Random,
): Generator<Move> {
  // A move only frees memory where it leaves and never takes a target under the floor, so the
  // nodes short at the start are the only ones, by their deficit at the start.
  const short = [...nodes.values()]
    .map((node) => ({
      node,
      deficit: node.view.totalMemBytes * s.memoryLowFraction - node.freeMemBytes,
    }))
    .filter((x) => x.deficit > 0)
    .sort((a, b) => (a.node.view.name < b.node.view.name ? -1 : 1));
  for (const { node, deficit } of short) {
    const here = processes.filter((p) => p.where === node.view.name);
    if (here.length === 0) continue;
    // The smallest one that covers the deficit alone, or else the largest (moves least memory).
    const covering = here.filter((p) => p.memoryBytes >= deficit);
    const pick =
      covering.length > 0
        ? covering.reduce((a, b) => (b.memoryBytes < a.memoryBytes ? b : a))
        : here.reduce((a, b) => (b.memoryBytes > a.memoryBytes ? b : a));
    const targets = candidates(pick, nodes, s).map((t) => ({
      t,
      cost: placementCost(t, pick, lnBase),
    }));
    const target = nearBest(targets, s.nearBest, random)?.t;
    if (target === undefined) continue;
    const hereSec = expectedSec(pick, node, s, 0);
    const thereSec = expectedSec(pick, target, s, 1);
    const targetQueue = target.runQueue;
    shift(nodes, node.view.name, target.view.name, pick.memoryBytes);
    yield {
      id: pick.id,
      from: node.view.name,
      to: target.view.name,
      reason: 'memory',
      expectedHereSec: hereSec,
      expectedThereSec: thereSec,
      targetQueue,
    };
  }
}

/** A node where `p` would finish sooner by the stability margin, if any. */
function betterPlace(
  p: ProcessProfile,
  nodes: Map<string, Working>,
  s: BalanceSettings,
  lnBase: number,
  random: Random,
  nowMs: number,
): Move | undefined {
  const current = nodes.get(p.where);
  if (current === undefined) return undefined;
  // MOSIX: as long as the home's load stays under its threshold, its processes stay home —
  // unless a node faster by the stability factor is free (slow → fast).
  const calm = p.where === s.home && current.runQueue <= s.homeLoadThreshold * current.view.cpus;
  const hereSec = expectedSec(p, current, s, 0);
  const saving = releaseCost(current, p, lnBase);
  const qualifying: { t: Working; cost: number; thereSec: number }[] = [];
  const returning = nowMs - p.residentSinceMs < s.noReturnMs ? p.cameFrom : undefined;
  // The no-return rule stops ping-pong on load; a program that now waits on its home longer than
  // it computes (its work changed character: it computed away, now it reads home's files) is not
  // that, and every second it stays away costs it more than a second.
  const goingHomeForIo = waitsOnHome(p, s);
  for (const t of candidates(p, nodes, s)) {
    if (t.view.name === returning && !(goingHomeForIo && t.view.name === s.home)) continue;
    if (calm && t.view.speed < current.view.speed * s.stability) continue;
    const thereSec = expectedSec(p, t, s, 1);
    if (gainsTooLittle(p, t.view.name, hereSec, thereSec, s)) continue;
    // The margin is additive on the load, as MOSIX's rule: a ratio on the finishing time would
    // leave 6 processes against 4 on equal nodes (10 × 1.3 > 12) where MOSIX moves one
    // (4 + 1.3 < 6). It also weighs the network waits of a process that talks to home.
    const marginSec = expectedSec(p, t, s, s.stability, s.stability);
    if (marginSec >= hereSec || thereSec * s.minGain >= hereSec) continue;
    const cost = placementCost(t, p, lnBase);
    // The cluster as a whole must get cheaper, not only this process faster — except coming
    // home, which also ends the remote cost of its system calls, which the cost does not see.
    if (cost >= saving && t.view.name !== s.home) continue;
    qualifying.push({ t, cost, thereSec });
  }
  // A process that waits on home as long as it computes goes home when it would finish soonest
  // there of all: the waits it leaves behind are no load figure that stale views could send
  // every home's programs after. (Opportunity cost does not see them: two idle nodes cost the
  // same, and the choice between them would be random.)
  const home = qualifying.find((q) => q.t.view.name === s.home);
  const chosen =
    home !== undefined &&
    goingHomeForIo &&
    qualifying.every((q) => q === home || home.thereSec < q.thereSec)
      ? home
      : twoChoices(qualifying, random);
  if (chosen === undefined) return undefined;
  return {
    id: p.id,
    from: p.where,
    to: chosen.t.view.name,
    reason: reasonFor(current, chosen.t, s),
    expectedHereSec: hereSec,
    expectedThereSec: chosen.thereSec,
    targetQueue: chosen.t.runQueue,
  };
}

function reasonFor(from: Working, to: Working, s: BalanceSettings): MoveReason {
  if (to.view.name === s.home) return 'home';
  if (from.runQueue > from.view.cpus) return 'load';
  return to.view.speed > from.view.speed ? 'speed' : 'load';
}

/** Nodes that may take `p`: not where it is, taking guests (home always), with room for it. */
function candidates(p: ProcessProfile, nodes: Map<string, Working>, s: BalanceSettings): Working[] {
  const out: Working[] = [];
  for (const t of nodes.values()) {
    if (t.view.name === p.where) continue;
    if (!t.view.accepting && t.view.name !== s.home) continue;
    const floor = t.view.totalMemBytes * s.memoryLowFraction;
    if (t.freeMemBytes - p.memoryBytes < floor) continue;
    out.push(t);
  }
  return out;
}

/**
 * The share of a reference CPU `p` gets on `node` (with it added `joining` times to the run
 * queue: 0 where it runs, 1 where it would go), discounted by the time its system calls and I/O
 * spend crossing the network when that node is not home.
 */
function effectiveShare(
  p: ProcessProfile,
  node: Working,
  s: BalanceSettings,
  joining: number,
  awayWeight: number,
): number {
  const { cpus, speed } = node.view;
  if (cpus <= 0 || speed <= 0) return 0;
  const queue = Math.max(1, node.runQueue + joining);
  const share = (speed / REFERENCE_SPEED) * Math.min(1, cpus / queue);
  if (node.view.name === s.home) return share;
  // Each CPU-second there also waits this long on the network.
  return share / (1 + networkWaitPerCpuSec(p, node.view.name, s) * awayWeight);
}

/**
 * Whether moving `p` to `node` for load or speed would gain it too little for its time on the
 * link (`hereSec`, `thereSec`: expected to finish here, and there with the move). The gain comes
 * from its age (a process that ran long is expected to run long), but half of the processes
 * that reached an age end within 0.6 × that age more (Pareto lifetimes, α = 1.5), while the time
 * on the link is certain and weighs most on a short process's slowdown. With 512 MB images (4.3 s
 * a move), short jobs that moved ended later than under a static placement (simulator; ADR 0010
 * round 7).
 */
function gainsTooLittle(
  p: ProcessProfile,
  node: string,
  hereSec: number,
  thereSec: number,
  s: BalanceSettings,
): boolean {
  if (node === s.home) return false;
  const transitSec = moveSec(p, node, s);
  return hereSec - (thereSec - transitSec) < s.moveGainFactor * transitSec;
}

/** Away from home and waiting on it at least as long as it computes. */
function waitsOnHome(p: ProcessProfile, s: BalanceSettings): boolean {
  return p.where !== s.home && networkWaitPerCpuSec(p, p.where, s) >= 1;
}

/**
 * Seconds `p` waits on the network, away from home, per second of CPU it gets: its system calls'
 * round trips and its bytes through home, counted per CPU-second because a starved I/O-heavy
 * process is not a light one. Measured while it is away; estimated from its calls at home.
 */
function networkWaitPerCpuSec(p: ProcessProfile, node: string, s: BalanceSettings): number {
  const perCpuSec = 1 / Math.max(p.cpuShare, 0.01);
  const link = linkBytesPerSec(node, s);
  const estimate = p.syscallsPerSec * s.remoteSyscallSec + p.ioBytesPerSec / link;
  if (p.where === s.home || p.homeWaitShare === undefined) return estimate * perCpuSec;
  // A call waits longer than a few round trips only when its node starves the runner of CPU
  // (a quota's throttling: 50–100 ms), which the CPU share already counts; uncapped, two such
  // calls a second made a starved CPU-bound program look as if it waited on home.
  const cap =
    p.syscallsPerSec * s.remoteSyscallSec * MAX_ROUND_TRIPS_PER_CALL + p.ioBytesPerSec / link;
  return Math.min(p.homeWaitShare, cap) * perCpuSec;
}

/** Bytes a second between home and `node`: measured, else the configured rate. */
function linkBytesPerSec(node: string, s: BalanceSettings): number {
  if (node === s.home) return Infinity;
  return s.measuredLinkBytesPerSec?.(node) ?? s.linkBytesPerSec;
}

/** Seconds `p`'s image takes from where it is to `node` (through home if neither is home). */
function moveSec(p: ProcessProfile, node: string, s: BalanceSettings): number {
  const rate = Math.min(linkBytesPerSec(p.where, s), linkBytesPerSec(node, s));
  return Number.isFinite(rate) ? p.memoryBytes / rate : 0;
}

/** The most a measured call is charged, in round trips (remoteSyscallSec). */
const MAX_ROUND_TRIPS_PER_CALL = 10;

/**
 * Seconds `p` is expected to need to finish on `node`, counted `joining` times in its run queue
 * (0: where it runs; else it has to go there, and the move is added) and its network waits
 * `awayWeight` times (the stability margin weighs both).
 */
function expectedSec(
  p: ProcessProfile,
  node: Working,
  s: BalanceSettings,
  joining: number,
  awayWeight = 1,
): number {
  const work = Math.max(p.workDoneSec, s.minExpectedWorkSec);
  const share = effectiveShare(p, node, s, joining, awayWeight);
  const run = share > 0 ? work / share : Infinity;
  return run + (joining > 0 ? moveSec(p, node.view.name, s) : 0);
}

function utilisation(node: Working, extraProcesses: number, extraBytes: number) {
  const capacity = (node.view.cpus * node.view.speed) / REFERENCE_SPEED;
  const total = Math.max(1, node.view.totalMemBytes);
  return {
    cpu: capacity > 0 ? (node.runQueue + extraProcesses) / capacity : Infinity,
    memory: (total - node.freeMemBytes + extraBytes) / total,
  };
}

/** ln of what `p` adds to `node`'s opportunity cost. */
function placementCost(node: Working, p: ProcessProfile, lnBase: number): number {
  return logMarginalCost(utilisation(node, 0, 0), utilisation(node, 1, p.memoryBytes), lnBase);
}

/** ln of what `node` saves when `p` leaves it. */
function releaseCost(node: Working, p: ProcessProfile, lnBase: number): number {
  return logMarginalCost(utilisation(node, -1, -p.memoryBytes), utilisation(node, 0, 0), lnBase);
}

/** The cheaper of two options drawn at random (all of them when there are two or fewer). */
function twoChoices<T extends { t: Working; cost: number }>(
  options: readonly T[],
  random: Random,
): T | undefined {
  if (options.length <= 2) return nearBest(options, 0, random);
  const sorted = [...options].sort((a, b) => (a.t.view.name < b.t.view.name ? -1 : 1));
  const a = sorted[random.int(sorted.length)]!;
  let b = sorted[random.int(sorted.length - 1)]!;
  if (b === a) b = sorted[sorted.length - 1]!;
  return a.cost <= b.cost ? a : b;
}

/** One of the options within `fraction` of the lowest cost, at random. */
function nearBest<T extends { t: Working; cost: number }>(
  options: readonly T[],
  fraction: number,
  random: Random,
): T | undefined {
  if (options.length === 0) return undefined;
  const best = Math.min(...options.map((o) => o.cost));
  const near = options
    .filter((o) => o.cost <= best + Math.log1p(fraction))
    .sort((a, b) => (a.t.view.name < b.t.view.name ? -1 : 1));
  return near[random.int(near.length)];
}

function shift(nodes: Map<string, Working>, from: string, to: string, bytes: number): void {
  const a = nodes.get(from);
  const b = nodes.get(to);
  if (a !== undefined) {
    a.runQueue = Math.max(0, a.runQueue - 1);
    a.freeMemBytes += bytes;
  }
  if (b !== undefined) {
    b.runQueue += 1;
    b.freeMemBytes -= bytes;
  }
}
