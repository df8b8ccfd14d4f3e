/**
 * A discrete-event simulation of a cluster running CPU-bound jobs under one placement policy:
 * Osmosis (every home calls the real {@link decideMoves} each balancing interval, on a stale
 * gossip view) or a static baseline that picks a node once, at arrival, and never moves the job.
 *
 * Time jumps from event to event (an arrival, a completion, a move landing, a balancing round);
 * nothing is stepped. Every job on a node progresses at the same processor-sharing rate, so a
 * node integrates one "service" counter S (reference seconds given to each job since the start)
 * and a job finishes when S reaches the value it was given when it joined: the jobs of a node
 * are a heap keyed by that value, the nodes a heap keyed by their next completion, re-timed
 * whenever their run queue changes.
 *
 * Gossip is modelled, not run: each node samples itself once per gossip interval at its own
 * phase, and an observer sees the sample taken at or before now − d, d uniform in
 * [0, 2·meanAge − interval), which gives entry ages in [0, 2·meanAge) with the requested mean
 * (1 s by default: triangular on 0..2 s). A node sees itself exactly. See docs/simulator-balance.md.
 */
import { consentsToMove, needsConsent, startAsksConsent } from '../balance/consent.js';
import { nodeViewOf } from '../balance/node-view.js';
import {
  DEFAULT_BALANCE_SETTINGS,
  REFERENCE_SPEED,
  chooseStart,
  countedQueue,
  decideMoves,
} from '../balance/policy.js';
import type {
  BalanceSettings,
  MoveReason,
  NodeView,
  PendingMove,
  ProcessProfile,
} from '../balance/policy.js';
import { LinkRates } from '../balance/link-rates.js';
import { OsmoError } from '../core/errors.js';
import { seededRandom } from '../core/random.js';
import type { Random } from '../core/random.js';
import { NodeFlags } from '../gossip/types.js';
import { IndexedHeap } from './balance-heap.js';
import type { BalanceSimOptions, JobSpec, Workload } from './balance-workload.js';
import { LOCAL_CLUSTER } from './balance-workload.js';
import { SimClock } from './clock.js';
import { EventQueue } from './event-queue.js';

export const POLICIES = [
  'osmosis',
  'no-migration',
  'round-robin',
  'random',
  'least-loaded',
  'power-of-two',
] as const;
export type PolicyName = (typeof POLICIES)[number];

/**
 * A move (or a baseline's placement) counts as recent while at most two gossip intervals old,
 * bounds included; this slack keeps float rounding of event times from deciding the bound.
 */
const PENDING_SLACK_MS = 1e-3;

/** A job moving back to the node it left less than this long ago counts as a bounce. */
export const BOUNCE_WINDOW_MS = 10_000;

export interface PolicyOutcome {
  readonly policy: PolicyName;
  readonly makespanSec: number;
  /** Mean over jobs of (completion − arrival) / (work / speed of the fastest node). */
  readonly meanSlowdown: number;
  readonly p95Slowdown: number;
  /** Moves started (admitted); a refused move is not one. */
  readonly migrations: number;
  readonly migrationsPerJob: number;
  readonly moveReasons: Readonly<Record<MoveReason, number>>;
  readonly bounces: number;
  readonly refusedMoves: number;
  /** Moves of jobs that make system calls through their home. */
  readonly ioJobMigrations: number;
  /** Node-seconds spent with free memory under the policy's floor (memoryLowFraction). */
  readonly memLowNodeSec: number;
  /** Calls of decideMoves. */
  readonly decisions: number;
  readonly events: number;
}

export interface JobResult {
  readonly completionSec: number;
  readonly migrations: number;
  /** Node the job finished on. */
  readonly lastNode: number;
}

export interface PolicyRun {
  readonly outcome: PolicyOutcome;
  readonly jobs: readonly JobResult[];
}

/** One decision of Osmosis as it was carried out (or refused at the target). */
export interface MoveEvent {
  readonly atSec: number;
  readonly job: number;
  readonly from: number;
  readonly to: number;
  readonly reason: MoveReason;
  readonly refused: boolean;
  readonly bounce: boolean;
  /** What decideMoves expected (seconds to finish here, and there with the move). */
  readonly expectedHereSec: number;
  readonly expectedThereSec: number;
  /** True resident jobs at the source and the target when the move was decided. */
  readonly fromQueue: number;
  readonly toQueue: number;
  /** When its image arrived (it runs there from then on); undefined if refused. */
  readonly landSec?: number;
}

export interface SimulateHooks {
  readonly onMove?: (move: MoveEvent) => void;
}

/** Runs `policy` on `workload` to the last completion. Deterministic in (workload, options). */
export function simulatePolicy(
  workload: Workload,
  options: BalanceSimOptions,
  policy: PolicyName,
  hooks: SimulateHooks = {},
): PolicyRun {
  return new BalanceRun(workload, options, policy, hooks).run();
}

interface Ev {
  readonly atMs: number;
  readonly seq: number;
  readonly kind: 'land' | 'round';
  /** The job (land) or the home (round). */
  readonly subject: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

class SimNode {
  readonly speedFactor: number;
  readonly floorBytes: number;
  /** Resident jobs (running, not in transit). */
  q = 0;
  /** Jobs on their way here (admitted, not landed). */
  incoming = 0;
  /** Resident jobs, jobs in transit from here (not yet freed) and to here (reserved). */
  usedBytes = 0;
  /** Reference seconds given to each job of weight 1 since the start; valid at `lastMs`. */
  s = 0;
  lastMs = 0;
  /** When the next job here finishes (Infinity when idle), and the node's place in the heap. */
  nextMs = Infinity;
  heapPos = -1;
  readonly jobs = new IndexedHeap<SimJob>(
    (a, b) => a.finishS < b.finishS || (a.finishS === b.finishS && a.spec.id < b.spec.id),
  );
  memLowMs = 0;
  /** Gossip samples: the last `ringQ.length` ticks, the latest recorded one being `lastTick`. */
  lastTick: number;
  readonly ringQ: Float64Array;
  readonly ringFree: Float64Array;
  /** NodeViews of the samples, built on first use (many homes read the same sample). */
  readonly ringView: (NodeView | undefined)[];
  currentView: NodeView | undefined;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly cpus: number,
    readonly speed: number,
    readonly totalBytes: number,
    readonly phaseMs: number,
    gossipMs: number,
    ring: number,
    memoryLowFraction: number,
  ) {
    this.speedFactor = speed / REFERENCE_SPEED;
    this.floorBytes = totalBytes * memoryLowFraction;
    this.lastTick = Math.floor(-phaseMs / gossipMs);
    this.ringQ = new Float64Array(ring);
    this.ringFree = new Float64Array(ring).fill(totalBytes);
    this.ringView = new Array<NodeView | undefined>(ring).fill(undefined);
  }

  /** Reference seconds per second each weight-1 job gets now. */
  rate(): number {
    return this.q === 0 ? 0 : this.speedFactor * Math.min(1, this.cpus / this.q);
  }

  get freeBytes(): number {
    return this.totalBytes - this.usedBytes;
  }

  /** The view of run queue `q` and `free` bytes, as gossip carries it. */
  view(q: number, free: number): NodeView {
    return nodeViewOf(this.name, {
      cpus: this.cpus,
      speed: this.speed,
      load: q / (this.cpus * this.speedFactor),
      freeMemBytes: free,
      totalMemBytes: this.totalBytes,
      freeSwapBytes: 0,
      totalSwapBytes: 0,
      guests: 0,
      flags: NodeFlags.acceptingGuests,
    });
  }
}

class SimJob {
  node = -1;
  /** Fraction of its processor share that turns into work (< 1 for I/O jobs away from home). */
  weight = 1;
  joinS = 0;
  doneAtJoin = 0;
  finishS = 0;
  heapPos = -1;
  residentSinceMs = 0;
  livePos = -1;
  transitFrom = -1;
  transitTo = -1;
  lastLeftNode = -1;
  lastLeftMs = -Infinity;
  migrations = 0;
  completedMs = -1;
  finishedOn = -1;
  /** Rewritten before each decision of its home (decideMoves keeps nothing it is given). */
  readonly profile: Mutable<ProcessProfile>;

  constructor(
    readonly spec: JobSpec,
    where: string,
  ) {
    this.profile = {
      id: spec.id,
      where,
      memoryBytes: spec.memBytes,
      cpuShare: 0,
      workDoneSec: 0,
      syscallsPerSec: 0,
      ioBytesPerSec: 0,
      residentSinceMs: 0,
      movable: true,
    };
  }
}

interface Placement {
  readonly atMs: number;
  readonly node: number;
  readonly bytes: number;
}

interface RecentMove {
  readonly atMs: number;
  readonly landMs: number;
  readonly from: number;
  readonly to: number;
  readonly pending: PendingMove;
}

class BalanceRun {
  private readonly clock = new SimClock();
  /** Landings and balancing rounds; arrivals come from the sorted job list, completions from the node heap. */
  private readonly queue = new EventQueue<Ev>();
  private seq = 0;
  private events = 0;
  private readonly nodes: SimNode[];
  private readonly busy = new IndexedHeap<SimNode>(
    (a, b) => a.nextMs < b.nextMs || (a.nextMs === b.nextMs && a.index < b.index),
  );
  private readonly jobs: SimJob[];
  private nextArrival = 0;
  private readonly nameIndex = new Map<string, number>();
  private readonly gossipMs: number;
  private readonly intervalMs: number;
  /** Observers see a sample taken at or before now − U(0, delayRangeMs). */
  private readonly delayRangeMs: number;
  /** Each node's link (an image crosses those of its two ends and of its home). */
  private readonly linkBytesPerSec: Float64Array;
  private readonly viewSize: number;
  private readonly viewRandom: Random;
  private readonly decideRandom: Random;
  private readonly roundPhaseMs: Float64Array;
  private readonly roundScheduled: Uint8Array;
  private readonly homeLive: SimJob[][];
  private readonly homeMoves: RecentMove[][];
  private readonly homePlaced: Placement[][];
  private readonly homePlacedHead: Int32Array;
  /** Own recent placements of the home being served, per node: count and bytes. */
  private readonly placedCount: Float64Array;
  private readonly placedBytes: Float64Array;
  private lastPlacer = -1;
  private readonly roundRobin: Int32Array;
  private readonly settings: (BalanceSettings | undefined)[];
  /** What each home's moves measured of the links (Osmosis with `measuredLinks`). */
  private readonly links: (LinkRates | undefined)[];
  private readonly mark: Uint32Array;
  private stamp = 0;
  /** Set by {@link observe}: when the sample it returned was taken. */
  private sampledMs = 0;
  private migrations = 0;
  private bounces = 0;
  private refused = 0;
  private ioMigrations = 0;
  private decisions = 0;
  private readonly reasons: Record<MoveReason, number> = { memory: 0, load: 0, speed: 0, home: 0 };

  constructor(
    private readonly workload: Workload,
    private readonly options: BalanceSimOptions,
    private readonly policy: PolicyName,
    private readonly hooks: SimulateHooks,
  ) {
    const o = options;
    this.gossipMs = o.gossipIntervalSec * 1000;
    this.intervalMs = o.intervalSec * 1000;
    this.delayRangeMs = Math.max(0, 2 * o.gossipMeanAgeSec * 1000 - this.gossipMs);
    this.linkBytesPerSec = Float64Array.from(
      workload.nodes,
      (spec) => ((spec.linkMbit ?? o.linkMbit) * 1e6) / 8,
    );
    const n = workload.nodes.length;
    this.viewSize = o.viewSize === 0 ? n : o.viewSize;
    // Streams: 1–4 workload, 5 round phases, 6 gossip phases (shared by all policies, so they
    // face the same cluster); 100+p views, 200+p decisions of policy p.
    const p = POLICIES.indexOf(policy);
    this.viewRandom = seededRandom(o.seed, 100 + p);
    this.decideRandom = seededRandom(o.seed, 200 + p);
    const roundPhase = seededRandom(o.seed, 5);
    const gossipPhase = seededRandom(o.seed, 6);
    const ring = Math.ceil(this.delayRangeMs / this.gossipMs) + 2;
    const lowFraction = DEFAULT_BALANCE_SETTINGS.memoryLowFraction;
    this.nodes = workload.nodes.map((spec, i) => {
      this.nameIndex.set(spec.name, i);
      const phase = gossipPhase.float() * this.gossipMs;
      return new SimNode(
        i,
        spec.name,
        spec.cpus,
        spec.speed,
        spec.memBytes,
        phase,
        this.gossipMs,
        ring,
        lowFraction,
      );
    });
    this.roundPhaseMs = Float64Array.from(
      { length: n },
      () => roundPhase.float() * this.intervalMs,
    );
    this.roundScheduled = new Uint8Array(n);
    this.homeLive = Array.from({ length: n }, () => []);
    this.homeMoves = Array.from({ length: n }, () => []);
    this.homePlaced = Array.from({ length: n }, () => []);
    this.homePlacedHead = new Int32Array(n);
    this.placedCount = new Float64Array(n);
    this.placedBytes = new Float64Array(n);
    this.roundRobin = new Int32Array(n);
    this.settings = new Array<BalanceSettings | undefined>(n).fill(undefined);
    this.links = new Array<LinkRates | undefined>(n).fill(undefined);
    this.mark = new Uint32Array(n);
    this.jobs = workload.jobs.map((spec) => new SimJob(spec, this.nodes[spec.home]!.name));
  }

  run(): PolicyRun {
    const jobs = this.jobs;
    for (;;) {
      // At equal times: arrivals, then completions, then landings and rounds (in push order).
      const arrival = this.nextArrival < jobs.length ? jobs[this.nextArrival]! : undefined;
      const arrivalMs = arrival?.spec.arrivalMs ?? Infinity;
      const node = this.busy.peek();
      const completionMs = node?.nextMs ?? Infinity;
      const ev = this.queue.peek();
      const evMs = ev?.atMs ?? Infinity;
      const t = Math.min(arrivalMs, completionMs, evMs);
      if (t === Infinity) break;
      this.events++;
      this.clock.advanceTo(t);
      if (arrival !== undefined && arrivalMs === t) {
        this.nextArrival++;
        this.arrive(arrival, t);
      } else if (node !== undefined && completionMs === t) {
        this.complete(node, t);
      } else if (ev !== undefined) {
        this.queue.pop();
        if (ev.kind === 'land') this.land(jobs[ev.subject]!, t);
        else this.round(ev.subject, t);
      }
    }
    return this.result();
  }

  private push(atMs: number, kind: Ev['kind'], subject: number): void {
    this.queue.push({ atMs, seq: this.seq++, kind, subject });
  }

  // ---- node state ---------------------------------------------------------------------------

  /** Brings `node` to time `t` (gossip samples, memory-low time, service) before it changes. */
  private touch(node: SimNode, t: number): void {
    const tick = Math.floor((t - node.phaseMs) / this.gossipMs);
    if (tick > node.lastTick) {
      const ring = node.ringQ.length;
      const free = node.freeBytes;
      for (let k = Math.max(node.lastTick + 1, tick - ring + 1); k <= tick; k++) {
        const i = ((k % ring) + ring) % ring;
        node.ringQ[i] = node.q;
        node.ringFree[i] = free;
        node.ringView[i] = node.currentView;
      }
      node.lastTick = tick;
    }
    node.currentView = undefined;
    const dt = t - node.lastMs;
    if (dt > 0) {
      if (node.freeBytes < node.floorBytes) node.memLowMs += dt;
      if (node.q > 0) node.s += (node.rate() * dt) / 1000;
      node.lastMs = t;
    }
  }

  /** Re-times `node`'s next completion after its run queue changed (it was touched just now). */
  private retime(node: SimNode): void {
    const head = node.jobs.peek();
    if (head === undefined) {
      node.nextMs = Infinity;
      if (this.busy.has(node)) this.busy.remove(node);
      return;
    }
    node.nextMs = node.lastMs + (Math.max(0, head.finishS - node.s) / node.rate()) * 1000;
    if (this.busy.has(node)) this.busy.update(node);
    else this.busy.push(node);
  }

  /** `job` starts running on `node` (already touched at the current time). */
  private join(job: SimJob, node: SimNode, t: number): void {
    const spec = job.spec;
    job.node = node.index;
    job.weight =
      spec.syscallsPerWorkSec > 0 && node.index !== spec.home
        ? 1 / (1 + spec.syscallsPerWorkSec * DEFAULT_BALANCE_SETTINGS.remoteSyscallSec)
        : 1;
    job.joinS = node.s;
    job.finishS = node.s + (spec.workSec - job.doneAtJoin) / job.weight;
    job.residentSinceMs = t;
    job.profile.where = node.name;
    job.profile.residentSinceMs = t;
    job.profile.migrations = job.migrations;
    if (job.lastLeftNode >= 0) job.profile.cameFrom = this.nodes[job.lastLeftNode]!.name;
    node.jobs.push(job);
    node.q++;
    this.retime(node);
  }

  /** `job` stops running on `node` (already touched); its memory stays until the caller frees it. */
  private leave(job: SimJob, node: SimNode): void {
    job.doneAtJoin = Math.min(job.spec.workSec, job.doneAtJoin + job.weight * (node.s - job.joinS));
    node.jobs.remove(job);
    job.node = -1;
    node.q--;
    this.retime(node);
  }

  // ---- events -------------------------------------------------------------------------------

  private arrive(job: SimJob, t: number): void {
    const home = job.spec.home;
    const live = this.homeLive[home]!;
    job.livePos = live.length;
    live.push(job);
    const node = this.nodes[this.place(job, t)]!;
    this.touch(node, t);
    node.usedBytes += job.spec.memBytes;
    this.join(job, node, t);
    if (this.policy === 'osmosis' && this.roundScheduled[home] === 0) {
      this.roundScheduled[home] = 1;
      const phase = this.roundPhaseMs[home]!;
      const k = Math.max(0, Math.ceil((t - phase) / this.intervalMs - 1e-9));
      this.push(phase + k * this.intervalMs, 'round', home);
    }
  }

  private complete(node: SimNode, t: number): void {
    this.touch(node, t);
    // The head was timed to finish now; others may finish at the same instant (to rounding).
    const eps = 1e-9 * Math.max(1, Math.abs(node.s));
    let first = true;
    for (;;) {
      const head = node.jobs.peek();
      if (head === undefined || (!first && head.finishS > node.s + eps)) break;
      first = false;
      head.finishedOn = node.index;
      this.leave(head, node);
      node.usedBytes -= head.spec.memBytes;
      head.completedMs = t;
      const live = this.homeLive[head.spec.home]!;
      const last = live.pop()!;
      if (last !== head) {
        live[head.livePos] = last;
        last.livePos = head.livePos;
      }
      head.livePos = -1;
    }
  }

  private land(job: SimJob, t: number): void {
    const from = this.nodes[job.transitFrom]!;
    const to = this.nodes[job.transitTo]!;
    // Its home learns what the move cost, as the daemon does from the deputy's report.
    const seconds = (t - job.lastLeftMs) / 1000;
    this.links[job.spec.home]?.observe(from.name, to.name, job.spec.memBytes, seconds);
    this.touch(from, t);
    from.usedBytes -= job.spec.memBytes;
    this.touch(to, t);
    job.transitFrom = -1;
    job.transitTo = -1;
    to.incoming--;
    this.join(job, to, t);
  }

  // ---- placement at arrival -----------------------------------------------------------------

  private place(job: SimJob, t: number): number {
    const home = job.spec.home;
    const n = this.nodes.length;
    switch (this.policy) {
      case 'osmosis':
        return this.placeAsOsmoRun(job, t);
      case 'no-migration':
        return home;
      case 'round-robin':
        return (home + this.roundRobin[home]!++) % n;
      case 'random':
        return this.decideRandom.int(n);
      case 'least-loaded':
      case 'power-of-two':
        return this.placeByLoad(job, t);
    }
  }

  /**
   * `osmo run` with a daemon starts on the best node (-b): the daemon's {@link chooseStart} on
   * this home's stale view, the choice then pending like a move. A new program's image is small:
   * it starts there at once.
   */
  private placeAsOsmoRun(job: SimJob, t: number): number {
    const home = job.spec.home;
    const indices: number[] = [];
    this.sampleView(home, indices);
    const horizon = t - 2 * this.gossipMs - PENDING_SLACK_MS;
    const recent = this.homeMoves[home]!.filter((m) => m.atMs >= horizon || m.landMs > t);
    this.homeMoves[home] = recent;
    const views = indices.map((i) => this.viewOf(i, home, t, recent));
    const homeName = this.nodes[home]!.name;
    const refused: string[] = [];
    for (;;) {
      const pending = this.options.pendingMode === 'none' ? [] : recent.map((r) => r.pending);
      const name = chooseStart({
        nodes: views,
        pending,
        memoryBytes: job.spec.memBytes,
        refused,
        settings: this.settingsOf(home),
        random: this.decideRandom,
      });
      const to = this.nameIndex.get(name) ?? home;
      if (to === home) return home;
      // Pending like a move, as the daemon's choice is, even if the node then refuses it.
      recent.push({
        atMs: t,
        landMs: t,
        from: home,
        to,
        pending: { from: homeName, to: name, memoryBytes: job.spec.memBytes },
      });
      // The node refuses a start when more run there than its home counted on; its home then
      // chooses again without it (MovableGuest.startAt); the last choice is not asked.
      const target = this.nodes[to]!;
      const expected = countedQueue(views, pending, homeName, name);
      if (
        !this.options.startConsent ||
        !startAsksConsent(refused.length) ||
        consentsToMove(expected, target.q + target.incoming)
      ) {
        return to;
      }
      refused.push(name);
    }
  }

  /**
   * A batch scheduler at the home: of the nodes it considers (its whole view, or two at random),
   * the one with the lowest normalised load once the job is counted, (q + own placements of the
   * last two gossip intervals + 1) / capacity, among those with memory above the floor if any.
   */
  private placeByLoad(job: SimJob, t: number): number {
    const home = job.spec.home;
    this.expirePlacements(home, t);
    const candidates: number[] = [];
    if (this.policy === 'power-of-two') {
      const n = this.nodes.length;
      const a = this.viewRandom.int(n);
      let b = this.viewRandom.int(n - 1);
      if (b >= a) b++;
      candidates.push(a, b);
    } else {
      this.sampleView(home, candidates);
    }
    let best = -1;
    let bestScore = Infinity;
    let bestFits = false;
    let ties = 0;
    for (const i of candidates) {
      const node = this.nodes[i]!;
      let q = node.q;
      let free = node.freeBytes;
      if (i !== home) {
        const slot = this.observe(node, t);
        if (slot >= 0) {
          q = node.ringQ[slot]!;
          free = node.ringFree[slot]!;
        }
      }
      const score = (q + this.placedCount[i]! + 1) / (node.cpus * node.speedFactor);
      const fits = free - this.placedBytes[i]! - job.spec.memBytes >= node.floorBytes;
      if (best < 0 || (fits && !bestFits) || (fits === bestFits && score < bestScore)) {
        best = i;
        bestScore = score;
        bestFits = fits;
        ties = 1;
      } else if (fits === bestFits && score === bestScore && this.decideRandom.int(++ties) === 0) {
        // Ties at random: homes that see the same idle cluster must not all pick its first node.
        best = i;
      }
    }
    this.homePlaced[home]!.push({ atMs: t, node: best, bytes: job.spec.memBytes });
    this.placedCount[best]!++;
    this.placedBytes[best]! += job.spec.memBytes;
    return best;
  }

  /**
   * Drops placements older than two gossip intervals (the view shows them by then) and loads the
   * rest of `home`'s into placedCount/placedBytes. Only one home places at a time, so the arrays
   * hold exactly that home's placements after this call.
   */
  private expirePlacements(home: number, t: number): void {
    const placed = this.homePlaced[home]!;
    if (this.lastPlacer !== home) {
      if (this.lastPlacer >= 0) {
        const previous = this.homePlaced[this.lastPlacer]!;
        for (let i = this.homePlacedHead[this.lastPlacer]!; i < previous.length; i++) {
          this.placedCount[previous[i]!.node] = 0;
          this.placedBytes[previous[i]!.node] = 0;
        }
      }
      for (let i = this.homePlacedHead[home]!; i < placed.length; i++) {
        const p = placed[i]!;
        this.placedCount[p.node]!++;
        this.placedBytes[p.node]! += p.bytes;
      }
      this.lastPlacer = home;
    }
    let head = this.homePlacedHead[home]!;
    while (head < placed.length && placed[head]!.atMs < t - 2 * this.gossipMs - PENDING_SLACK_MS) {
      const p = placed[head]!;
      this.placedCount[p.node]!--;
      this.placedBytes[p.node]! -= p.bytes;
      head++;
    }
    if (head > 1024 && head * 2 > placed.length) {
      placed.splice(0, head);
      head = 0;
    }
    this.homePlacedHead[home] = head;
  }

  // ---- gossip view --------------------------------------------------------------------------

  /**
   * Which sample of `node` another node's gossip entry holds now: a ring slot, or −1 for the
   * current state (no change since the sample). Sets {@link sampledMs}.
   */
  private observe(node: SimNode, t: number): number {
    const d = this.viewRandom.float() * this.delayRangeMs;
    const tick = Math.floor((t - d - node.phaseMs) / this.gossipMs);
    this.sampledMs = node.phaseMs + tick * this.gossipMs;
    if (tick > node.lastTick) return -1;
    const ring = node.ringQ.length;
    const k = Math.max(tick, node.lastTick - ring + 1);
    return ((k % ring) + ring) % ring;
  }

  /**
   * Fills `out` with the nodes `home` considers: all of them, or itself, then `include`, then
   * others at random up to the view size (the freshest entries of a gossip vector are a random
   * set of nodes).
   */
  private sampleView(home: number, out: number[], include: readonly number[] = []): void {
    const n = this.nodes.length;
    if (this.viewSize >= n) {
      for (let i = 0; i < n; i++) out.push(i);
      return;
    }
    const stamp = ++this.stamp;
    const add = (i: number): void => {
      if (this.mark[i] === stamp) return;
      this.mark[i] = stamp;
      out.push(i);
    };
    add(home);
    for (const i of include) add(i);
    while (out.length < this.viewSize) add(this.viewRandom.int(n));
  }

  /**
   * `home`'s view of node `index`. In `unseen` pending mode, the part of each recent move the
   * sample already shows is taken back out, so that decideMoves ends up counting each move once
   * (this follows what policy.ts does with pending moves: keep the two in step).
   */
  private viewOf(index: number, home: number, t: number, recent: readonly RecentMove[]): NodeView {
    const node = this.nodes[index]!;
    let slot = -1;
    this.sampledMs = t;
    if (index !== home) slot = this.observe(node, t);
    let q = slot < 0 ? node.q : node.ringQ[slot]!;
    let free = slot < 0 ? node.freeBytes : node.ringFree[slot]!;
    if (this.options.pendingMode === 'unseen') {
      let corrected = false;
      for (const m of recent) {
        // decideMoves applies a pending move in full to the other nodes, and to the home only
        // the memory of an image leaving it. The job leaves the source's run queue when the move
        // starts and frees its memory when it lands; the target reserves the memory at the start
        // and runs the job once it landed. Take back out what the sample already shows.
        if (m.from === index && index === home) {
          if (this.sampledMs >= m.landMs) free -= m.pending.memoryBytes;
          corrected = true;
        } else if (m.from === index) {
          if (this.sampledMs >= m.atMs) q += 1;
          if (this.sampledMs >= m.landMs) free -= m.pending.memoryBytes;
          corrected = true;
        }
        if (m.to === index && index !== home) {
          if (this.sampledMs >= m.landMs) q -= 1;
          if (this.sampledMs >= m.atMs) free += m.pending.memoryBytes;
          corrected = true;
        }
      }
      if (corrected) return node.view(q, free);
    }
    if (slot < 0) return (node.currentView ??= node.view(q, free));
    return (node.ringView[slot] ??= node.view(q, free));
  }

  // ---- Osmosis ------------------------------------------------------------------------------

  private clusterOf(node: string): string | undefined {
    const i = this.nameIndex.get(node);
    return i === undefined ? undefined : (this.workload.nodes[i]!.cluster ?? LOCAL_CLUSTER);
  }

  private settingsOf(home: number): BalanceSettings {
    let s = this.settings[home];
    if (s === undefined) {
      const name = this.nodes[home]!.name;
      s = { ...DEFAULT_BALANCE_SETTINGS, home: name, moveGainFactor: this.options.moveGainFactor };
      if (this.options.measuredLinks) {
        const links = new LinkRates(name, {
          clusterOf: (node) => this.clusterOf(node),
          ...(this.options.otherClusterLinkMbit > 0 && {
            otherClusterBytesPerSec: (this.options.otherClusterLinkMbit * 1e6) / 8,
          }),
        });
        this.links[home] = links;
        s = { ...s, measuredLinkBytesPerSec: (node) => links.rate(node) };
      }
      this.settings[home] = s;
    }
    return s;
  }

  /**
   * The round of `home` after its round at `t`: phase + k · interval, computed rather than
   * accumulated, so that rounds stay exactly one interval apart.
   */
  private nextRoundMs(home: number, t: number): number {
    const phase = this.roundPhaseMs[home]!;
    return phase + (Math.round((t - phase) / this.intervalMs) + 1) * this.intervalMs;
  }

  /** One balancing round of `home`: its processes, its view, decideMoves, the moves. */
  private round(home: number, t: number): void {
    const live = this.homeLive[home]!;
    if (live.length === 0) {
      this.roundScheduled[home] = 0;
      return;
    }
    this.push(this.nextRoundMs(home, t), 'round', home);
    const processes: ProcessProfile[] = [];
    const hosts: number[] = [];
    for (const job of live) {
      if (job.node < 0) continue;
      const node = this.nodes[job.node]!;
      const share = Math.min(1, node.cpus / node.q);
      const s = node.s + (node.rate() * (t - node.lastMs)) / 1000;
      if (job.node !== home) hosts.push(job.node);
      const p = job.profile;
      p.cpuShare = job.weight * share;
      p.workDoneSec = Math.min(job.spec.workSec, job.doneAtJoin + job.weight * (s - job.joinS));
      // As the daemon measures it: calls in the last interval over its length.
      p.syscallsPerSec = job.spec.syscallsPerWorkSec * job.weight * node.speedFactor * share;
      processes.push(p);
    }
    // With nothing running (all in transit) there is nothing decideMoves could move.
    if (processes.length === 0) return;
    const indices: number[] = [];
    this.sampleView(home, indices, hosts);
    // Pending: moves of the last two gossip intervals, and any still on the link (a large image
    // takes longer than that, and until it lands its memory is still taken at the source).
    const horizon = t - 2 * this.gossipMs - PENDING_SLACK_MS;
    const expired = (m: RecentMove): boolean => m.atMs < horizon && m.landMs <= t;
    let recent = this.homeMoves[home]!;
    if (recent.some(expired)) {
      recent = recent.filter((m) => !expired(m));
      this.homeMoves[home] = recent;
    }
    const views = indices.map((i) => this.viewOf(i, home, t, recent));
    this.decisions++;
    const moves = decideMoves({
      nowMs: t,
      nodes: views,
      processes,
      pending: this.options.pendingMode === 'none' ? [] : recent.map((r) => r.pending),
      settings: this.settingsOf(home),
      random: this.decideRandom,
    });
    for (const move of moves) {
      const job = this.jobs[move.id]!;
      const from = this.nameIndex.get(move.from)!;
      const to = this.nameIndex.get(move.to)!;
      if (job.node !== from) {
        throw new OsmoError(
          'E_INTERNAL',
          `decideMoves moved job ${move.id} from ${move.from}, where it does not run`,
        );
      }
      const target = this.nodes[to]!;
      // Admission at the target, on its real state (the view may be stale): room, and consent.
      const refused =
        target.freeBytes < job.spec.memBytes ||
        (needsConsent(move.reason) &&
          !consentsToMove(move.targetQueue, target.q + target.incoming));
      const bounce = !refused && job.lastLeftNode === to && t - job.lastLeftMs < BOUNCE_WINDOW_MS;
      const event: MoveEvent = {
        atSec: t / 1000,
        job: job.spec.id,
        from,
        to,
        reason: move.reason,
        refused,
        bounce,
        expectedHereSec: move.expectedHereSec,
        expectedThereSec: move.expectedThereSec,
        fromQueue: this.nodes[from]!.q,
        toQueue: target.q,
      };
      if (refused) {
        this.hooks.onMove?.(event);
        this.refused++;
        continue;
      }
      if (bounce) this.bounces++;
      const landMs = this.startMove(job, from, to, t);
      this.hooks.onMove?.({ ...event, landSec: landMs / 1000 });
      this.reasons[move.reason]++;
      recent.push({
        atMs: t,
        landMs,
        from,
        to,
        pending: { from: move.from, to: move.to, memoryBytes: job.spec.memBytes },
      });
    }
  }

  /** Starts moving `job`; returns when it lands. */
  private startMove(job: SimJob, from: number, to: number, t: number): number {
    const source = this.nodes[from]!;
    const target = this.nodes[to]!;
    job.lastLeftNode = from;
    job.lastLeftMs = t;
    this.touch(source, t);
    this.leave(job, source);
    this.touch(target, t);
    target.usedBytes += job.spec.memBytes;
    target.incoming++;
    job.transitFrom = from;
    job.transitTo = to;
    job.migrations++;
    this.migrations++;
    if (job.spec.syscallsPerWorkSec > 0) this.ioMigrations++;
    const links = this.linkBytesPerSec;
    const rate = Math.min(links[from]!, links[to]!, links[job.spec.home]!);
    const landMs = t + (job.spec.memBytes / rate) * 1000;
    this.push(landMs, 'land', job.spec.id);
    return landMs;
  }

  // ---- results ------------------------------------------------------------------------------

  private result(): PolicyRun {
    let makespanMs = 0;
    for (const job of this.jobs) makespanMs = Math.max(makespanMs, job.completedMs);
    for (const node of this.nodes) this.touch(node, makespanMs);
    const fastest = this.workload.fastestSpeed / REFERENCE_SPEED;
    const slowdowns = this.jobs
      .map((j) => (j.completedMs - j.spec.arrivalMs) / 1000 / (j.spec.workSec / fastest))
      .sort((a, b) => a - b);
    const mean = slowdowns.reduce((a, b) => a + b, 0) / slowdowns.length;
    const jobs = this.jobs.length;
    const memLowMs = this.nodes.reduce((sum, n) => sum + n.memLowMs, 0);
    return {
      outcome: {
        policy: this.policy,
        makespanSec: makespanMs / 1000,
        meanSlowdown: mean,
        p95Slowdown: slowdowns[Math.min(jobs - 1, Math.ceil(0.95 * jobs) - 1)]!,
        migrations: this.migrations,
        migrationsPerJob: this.migrations / jobs,
        moveReasons: { ...this.reasons },
        bounces: this.bounces,
        refusedMoves: this.refused,
        ioJobMigrations: this.ioMigrations,
        memLowNodeSec: memLowMs / 1000,
        decisions: this.decisions,
        events: this.events,
      },
      jobs: this.jobs.map((j) => ({
        completionSec: j.completedMs / 1000,
        migrations: j.migrations,
        lastNode: j.finishedOn,
      })),
    };
  }
}
