/**
 * The cluster and the job set of a balancing simulation, drawn once from the seed so that every
 * policy of one run faces exactly the same nodes and the same jobs. Also the ideal makespan the
 * policies are measured against.
 */
import { OsmoError } from '../core/errors.js';
import { seededRandom } from '../core/random.js';
import type { Random } from '../core/random.js';
import { DEFAULT_BALANCE_SETTINGS, REFERENCE_SPEED } from '../balance/policy.js';
import { DEFAULT_OTHER_CLUSTER_LINK_MBIT } from '../balance/link-rates.js';

const MIB = 2 ** 20;

export const PENDING_MODES = ['window', 'unseen', 'none'] as const;
export type PendingMode = (typeof PENDING_MODES)[number];

/** Every knob of one balancing simulation; units are in the names. */
export interface BalanceSimOptions {
  readonly nodes: number;
  readonly cpus: number;
  /** Per-CPU speeds cycled over the nodes, or `mixed`: a seeded third each of 5000/10000/20000. */
  readonly speeds: readonly number[] | 'mixed';
  readonly memoryMb: number;
  readonly jobs: number;
  readonly paretoAlpha: number;
  /** Mean work of a job in reference-CPU seconds (after the cap). */
  readonly meanWorkSec: number;
  /** No job has more work than this many times the mean. */
  readonly maxWorkFactor: number;
  readonly jobMemoryMb: number;
  /** Fraction of jobs that need `largeJobMemoryMb` instead of `jobMemoryMb`. */
  readonly memoryPressure: number;
  readonly largeJobMemoryMb: number;
  /** Jobs start at one of the first `homes` nodes, chosen at random per job. */
  readonly homes: number;
  /** Arrivals form a Poisson process over this window; 0 = all at t = 0. */
  readonly arrivalWindowSec: number;
  /** If set, overrides `arrivalWindowSec`: the window that offers this load to the cluster. */
  readonly offeredLoad?: number;
  /** Fraction of jobs that make system calls through their home. */
  readonly ioJobs: number;
  /** System calls an I/O job makes per reference-CPU second of work. */
  readonly ioSyscallsPerWorkSec: number;
  readonly intervalSec: number;
  readonly gossipIntervalSec: number;
  /** Mean age of what one node knows of another (≥ half a gossip interval). */
  readonly gossipMeanAgeSec: number;
  readonly linkMbit: number;
  /**
   * The last this many nodes are a partner cluster behind a link of `partnerLinkMbit`: an image
   * to, from or through one of them crosses it. Homes are among the first nodes: local.
   */
  readonly partnerNodes: number;
  readonly partnerLinkMbit: number;
  /**
   * Osmosis's policy charges a move by the links its home's moves measured (true), or every move
   * at the daemon's configured rate, 800 Mbit (false: as before links were measured).
   */
  readonly measuredLinks: boolean;
  /**
   * Osmosis's policy moves a job for load or speed only when it expects to finish sooner by this
   * many times the move's time on the link (`BalanceSettings.moveGainFactor`); 0 = whenever the
   * move pays at all, as before round 7.
   */
  readonly moveGainFactor: number;
  /**
   * The rate Osmosis assumes to the partner cluster before a move measured it, Mbit/s (the
   * daemon's otherClusterLinkMbit); 0 = the same as its own cluster's (the daemon's linkMbit).
   */
  readonly otherClusterLinkMbit: number;
  /**
   * A node chosen for a start (osmo run -b) refuses it when more run there than the home counted
   * on, and the home chooses again without it, as the daemon does (false: every start is taken).
   */
  readonly startConsent: boolean;
  /** Nodes a home sees per decision (itself included); 0 = all. */
  readonly viewSize: number;
  /**
   * What a home passes decideMoves as `pending`: `window`, its moves of the last two gossip
   * intervals (as specified); `none`; `unseen`, the same moves with each view entry corrected
   * for the part of them its sample already shows (an experiment: see docs/simulator-balance.md).
   */
  readonly pendingMode: PendingMode;
  readonly seed: number;
}

export const DEFAULT_BALANCE_SIM_OPTIONS: BalanceSimOptions = {
  nodes: 16,
  cpus: 1,
  speeds: [REFERENCE_SPEED],
  memoryMb: 4096,
  jobs: 160,
  paretoAlpha: 1.5,
  meanWorkSec: 60,
  maxWorkFactor: 50,
  jobMemoryMb: 64,
  memoryPressure: 0,
  largeJobMemoryMb: 1536,
  homes: 1,
  arrivalWindowSec: 0,
  ioJobs: 0,
  ioSyscallsPerWorkSec: 20_000,
  intervalSec: 1,
  gossipIntervalSec: 1,
  gossipMeanAgeSec: 1,
  linkMbit: 1000,
  partnerNodes: 0,
  partnerLinkMbit: 100,
  measuredLinks: true,
  moveGainFactor: DEFAULT_BALANCE_SETTINGS.moveGainFactor,
  otherClusterLinkMbit: DEFAULT_OTHER_CLUSTER_LINK_MBIT,
  startConsent: true,
  viewSize: 0,
  pendingMode: 'window',
  seed: 1,
};

export interface NodeSpec {
  readonly name: string;
  readonly cpus: number;
  readonly speed: number;
  readonly memBytes: number;
  /** Its link, Mbit/s; the workload's `linkMbit` if not given. */
  readonly linkMbit?: number;
  /** Its cluster, as gossip names it; the homes' own (`LOCAL_CLUSTER`) if not given. */
  readonly cluster?: string;
}

export const LOCAL_CLUSTER = 'local';
export const PARTNER_CLUSTER = 'partner';

export interface JobSpec {
  /** Index into {@link Workload.jobs}; jobs are numbered in arrival order. */
  readonly id: number;
  readonly home: number;
  readonly workSec: number;
  readonly memBytes: number;
  readonly arrivalMs: number;
  /** 0 for a CPU-bound job. */
  readonly syscallsPerWorkSec: number;
}

export interface Workload {
  readonly nodes: readonly NodeSpec[];
  readonly jobs: readonly JobSpec[];
  readonly arrivalWindowSec: number;
  /** Σ cpus × speed / reference speed. */
  readonly capacity: number;
  readonly fastestSpeed: number;
  readonly totalWorkSec: number;
  readonly maxWorkSec: number;
  /** Pareto scale chosen so the capped mean is `meanWorkSec`. */
  readonly paretoScaleSec: number;
  readonly idealSec: number;
}

/** Every problem with `o` at once, or an empty list. */
export function validateOptions(o: BalanceSimOptions): string[] {
  const problems: string[] = [];
  const int = (name: string, v: number, min: number, max = Infinity): void => {
    if (!Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}], got ${v}`);
    }
  };
  const positive = (name: string, v: number): void => {
    if (!(v > 0 && Number.isFinite(v))) problems.push(`${name} must be > 0, got ${v}`);
  };
  const unit = (name: string, v: number): void => {
    if (!(v >= 0 && v <= 1)) problems.push(`${name} must be in [0, 1], got ${v}`);
  };
  int('nodes', o.nodes, 2, 1_000_000);
  int('cpus', o.cpus, 1, 4096);
  int('jobs', o.jobs, 1, 10_000_000);
  int('homes', o.homes, 1, o.nodes);
  int('viewSize', o.viewSize, 0, o.nodes);
  if (o.viewSize === 1) problems.push('viewSize 1 shows a home only itself; use 0 (all) or ≥ 2');
  int('seed', o.seed, 0, 2 ** 32 - 1);
  if (!PENDING_MODES.includes(o.pendingMode)) {
    problems.push(`pendingMode must be one of ${PENDING_MODES.join(', ')}, got ${o.pendingMode}`);
  }
  if (o.speeds !== 'mixed') {
    if (o.speeds.length === 0) problems.push('speeds must list at least one speed');
    for (const s of o.speeds) if (!(s > 0)) problems.push(`speeds must be > 0, got ${s}`);
  }
  positive('memoryMb', o.memoryMb);
  positive('paretoAlpha', o.paretoAlpha);
  positive('meanWorkSec', o.meanWorkSec);
  if (!(o.maxWorkFactor > 1)) problems.push(`maxWorkFactor must be > 1, got ${o.maxWorkFactor}`);
  positive('jobMemoryMb', o.jobMemoryMb);
  positive('largeJobMemoryMb', o.largeJobMemoryMb);
  unit('memoryPressure', o.memoryPressure);
  unit('ioJobs', o.ioJobs);
  if (!(o.ioSyscallsPerWorkSec >= 0)) problems.push('ioSyscallsPerWorkSec must be ≥ 0');
  if (!(o.arrivalWindowSec >= 0)) problems.push('arrivalWindowSec must be ≥ 0');
  if (o.offeredLoad !== undefined && !(o.offeredLoad > 0 && o.offeredLoad <= 10)) {
    problems.push(`offeredLoad must be in (0, 10], got ${o.offeredLoad}`);
  }
  positive('intervalSec', o.intervalSec);
  positive('gossipIntervalSec', o.gossipIntervalSec);
  positive('linkMbit', o.linkMbit);
  int('partnerNodes', o.partnerNodes, 0, o.nodes - o.homes);
  positive('partnerLinkMbit', o.partnerLinkMbit);
  if (!(o.otherClusterLinkMbit >= 0 && Number.isFinite(o.otherClusterLinkMbit))) {
    problems.push(`otherClusterLinkMbit must be ≥ 0, got ${o.otherClusterLinkMbit}`);
  }
  if (!(o.moveGainFactor >= 0 && Number.isFinite(o.moveGainFactor))) {
    problems.push(`moveGainFactor must be ≥ 0, got ${o.moveGainFactor}`);
  }
  if (!(o.gossipMeanAgeSec >= o.gossipIntervalSec / 2)) {
    problems.push(
      `gossipMeanAgeSec must be ≥ half the gossip interval (${o.gossipIntervalSec / 2}), got ${o.gossipMeanAgeSec}`,
    );
  }
  return problems;
}

/** The seeded cluster and jobs of `o` (random streams 1–4 of the seed). */
export function makeWorkload(o: BalanceSimOptions): Workload {
  const problems = validateOptions(o);
  if (problems.length > 0) throw new OsmoError('E_USAGE', problems.join('; '));
  const nodes = makeNodes(o, seededRandom(o.seed, 1));
  const capacity = nodes.reduce((sum, n) => sum + (n.cpus * n.speed) / REFERENCE_SPEED, 0);
  const capSec = o.maxWorkFactor * o.meanWorkSec;
  const scale = paretoScaleForMean(o.paretoAlpha, o.meanWorkSec, capSec);
  const window =
    o.offeredLoad !== undefined
      ? (o.jobs * o.meanWorkSec) / (o.offeredLoad * capacity)
      : o.arrivalWindowSec;

  const work = seededRandom(o.seed, 2);
  const kind = seededRandom(o.seed, 3);
  const when = seededRandom(o.seed, 4);
  const arrivals = Array.from({ length: o.jobs }, () => (window > 0 ? when.float() * window : 0));
  // Uniform order statistics over the window are the arrival times of a Poisson process with M
  // arrivals in it; sorting numbers the jobs in arrival order.
  arrivals.sort((a, b) => a - b);
  const jobs: JobSpec[] = [];
  for (let id = 0; id < o.jobs; id++) {
    const workSec = Math.min(capSec, scale / Math.pow(1 - work.float(), 1 / o.paretoAlpha));
    const large = kind.float() < o.memoryPressure;
    const io = kind.float() < o.ioJobs;
    jobs.push({
      id,
      home: o.homes === 1 ? 0 : kind.int(o.homes),
      workSec,
      memBytes: (large ? o.largeJobMemoryMb : o.jobMemoryMb) * MIB,
      arrivalMs: arrivals[id]! * 1000,
      syscallsPerWorkSec: io ? o.ioSyscallsPerWorkSec : 0,
    });
  }
  return { ...workloadFrom(nodes, jobs), arrivalWindowSec: window, paretoScaleSec: scale };
}

/**
 * A workload of given nodes and jobs (hand-made cases, fixtures). Jobs must be numbered 0..m−1
 * in order of arrival.
 */
export function workloadFrom(nodes: readonly NodeSpec[], jobs: readonly JobSpec[]): Workload {
  jobs.forEach((j, i) => {
    const previous = jobs[i - 1];
    if (j.id !== i || (previous !== undefined && previous.arrivalMs > j.arrivalMs)) {
      throw new OsmoError('E_USAGE', `job ${j.id} at position ${i}: number jobs 0..m−1 by arrival`);
    }
    if (!(j.home >= 0 && j.home < nodes.length)) {
      throw new OsmoError(
        'E_USAGE',
        `job ${j.id} has home ${j.home}, not one of the ${nodes.length} nodes`,
      );
    }
  });
  const capacity = nodes.reduce((sum, n) => sum + (n.cpus * n.speed) / REFERENCE_SPEED, 0);
  // reduce, not Math.max(...): a million arguments overflow the stack.
  const fastestSpeed = nodes.reduce((max, n) => Math.max(max, n.speed), 0);
  const last = jobs[jobs.length - 1];
  return {
    nodes,
    jobs,
    arrivalWindowSec: last === undefined ? 0 : last.arrivalMs / 1000,
    capacity,
    fastestSpeed,
    totalWorkSec: jobs.reduce((sum, j) => sum + j.workSec, 0),
    maxWorkSec: jobs.reduce((max, j) => Math.max(max, j.workSec), 0),
    paretoScaleSec: 0,
    idealSec: idealMakespanSec(jobs, capacity, fastestSpeed),
  };
}

function makeNodes(o: BalanceSimOptions, random: Random): NodeSpec[] {
  let speeds: number[];
  if (o.speeds === 'mixed') {
    // Exactly a third of each (as near as n allows), shuffled so no speed clusters by index.
    const mix = [5000, 10_000, 20_000];
    speeds = Array.from({ length: o.nodes }, (_, i) => mix[i % mix.length]!);
    for (let i = speeds.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [speeds[i], speeds[j]] = [speeds[j]!, speeds[i]!];
    }
  } else {
    const list = o.speeds;
    speeds = Array.from({ length: o.nodes }, (_, i) => list[i % list.length]!);
  }
  const firstPartner = o.nodes - o.partnerNodes;
  return speeds.map((speed, i) => ({
    name: `n${i}`,
    cpus: o.cpus,
    speed,
    memBytes: o.memoryMb * MIB,
    ...(i >= firstPartner && { linkMbit: o.partnerLinkMbit, cluster: PARTNER_CLUSTER }),
  }));
}

/** E[min(X, cap)] for X Pareto with scale `xm` and shape `alpha`. */
export function cappedParetoMean(xm: number, alpha: number, cap: number): number {
  if (xm >= cap) return cap;
  // ∫0^cap P(X > x) dx = xm + ∫xm^cap (xm/x)^α dx
  const tail =
    alpha === 1
      ? xm * Math.log(cap / xm)
      : (Math.pow(xm, alpha) * (Math.pow(cap, 1 - alpha) - Math.pow(xm, 1 - alpha))) / (1 - alpha);
  return xm + tail;
}

/** The Pareto scale whose mean, capped at `cap`, is `mean` (bisection; the mean grows with xm). */
export function paretoScaleForMean(alpha: number, mean: number, cap: number): number {
  if (!(mean < cap))
    throw new OsmoError('E_USAGE', `mean work ${mean} must be under the cap ${cap}`);
  let lo = 0;
  let hi = mean;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (cappedParetoMean(mid, alpha, cap) < mean) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * A lower bound on any schedule's makespan: the cluster's whole capacity working from each
 * arrival time on all the work that has not arrived yet (for arrivals all at 0, Σwork / Σcapacity),
 * and no job finishing before its arrival plus its work on the fastest processor.
 */
export function idealMakespanSec(
  jobs: readonly JobSpec[],
  capacity: number,
  fastestSpeed: number,
): number {
  const fastest = fastestSpeed / REFERENCE_SPEED;
  let ideal = 0;
  let suffixWork = 0;
  for (let i = jobs.length - 1; i >= 0; i--) {
    const j = jobs[i]!;
    suffixWork += j.workSec;
    const t = j.arrivalMs / 1000;
    ideal = Math.max(ideal, t + suffixWork / capacity, t + j.workSec / fastest);
  }
  return ideal;
}
