/**
 * Measurements on a running {@link GossipSim}, in the units of the formulas (intervals). Each
 * reads node state only through the GossipNode API and advances simulated time itself.
 */
import type { GossipSim } from './gossip-sim.js';
import { simAddress } from './gossip-sim.js';

export interface AgeMeasurement {
  /** Mean over samples of a node's average entry age (entries about other nodes), in intervals. */
  readonly meanAge: number;
  /** Mean over samples of the largest entry age in a node's vector, in intervals. */
  readonly maxAge: number;
  /** Mean over samples of the fraction of other live nodes the sampled node knows. */
  readonly coverage: number;
  readonly samples: number;
}

/**
 * Samples `nodesPerInstant` random live nodes at one uniformly random instant in each of the
 * next `intervals` intervals. Random instants matter: ages are sawtooth functions of time, and
 * sampling at a fixed phase would bias the mean.
 */
export function measureAges(
  sim: GossipSim,
  intervals: number,
  nodesPerInstant: number,
): AgeMeasurement {
  const interval = sim.intervalMs;
  const start = sim.now;
  const live = sim.aliveCount();
  let sumMean = 0;
  let sumMax = 0;
  let sumCoverage = 0;
  let samples = 0;
  for (let k = 0; k < intervals; k++) {
    const at = start + (k + sim.random.float()) * interval;
    sim.runUntil(at);
    for (let j = 0; j < nodesPerInstant; j++) {
      const index = sim.random.int(sim.size);
      if (!sim.isAlive(index)) continue;
      const summary = sim.nodes[index]!.ageSummary(at);
      sumMean += summary.meanAgeMs / interval;
      sumMax += summary.maxAgeMs / interval;
      sumCoverage += summary.known / Math.max(1, live - 1);
      samples++;
    }
  }
  sim.runUntil(start + intervals * interval);
  return {
    meanAge: sumMean / samples,
    maxAge: sumMax / samples,
    coverage: sumCoverage / samples,
    samples,
  };
}

/** Advances in steps of `stepIntervals` until `done()` or the deadline; returns elapsed intervals or undefined. */
export function waitFor(
  sim: GossipSim,
  done: () => boolean,
  deadlineIntervals: number,
  stepIntervals = 0.25,
): number | undefined {
  const start = sim.now;
  const deadline = start + deadlineIntervals * sim.intervalMs;
  while (!done()) {
    if (sim.now >= deadline) return undefined;
    sim.runUntil(Math.min(deadline, sim.now + stepIntervals * sim.intervalMs));
  }
  return (sim.now - start) / sim.intervalMs;
}

export interface JoinMeasurement {
  readonly index: number;
  /** Intervals until the new node is known to 50 % / 99 % / all of the other live nodes. */
  readonly half?: number;
  readonly most?: number;
  readonly all?: number;
}

/** Starts a node that knows one random live member and times how its entry spreads. */
export function measureJoin(sim: GossipSim, deadlineIntervals: number): JoinMeasurement {
  let seed = sim.random.int(sim.size);
  while (!sim.isAlive(seed)) seed = sim.random.int(sim.size);
  const index = sim.addNode([simAddress(seed)]);
  const others = sim.aliveCount() - 1;
  const start = sim.now;
  const elapsed = (): number => (sim.now - start) / sim.intervalMs;
  const half = waitFor(sim, () => sim.knownBy(index) >= 0.5 * others, deadlineIntervals);
  const remaining = (): number => deadlineIntervals - elapsed();
  const most =
    half === undefined
      ? undefined
      : waitFor(sim, () => sim.knownBy(index) >= 0.99 * others, remaining());
  const all =
    most === undefined ? undefined : waitFor(sim, () => sim.knownBy(index) >= others, remaining());
  return {
    index,
    ...(half !== undefined && { half }),
    ...(most !== undefined && { most: half! + most }),
    ...(all !== undefined && { all: half! + most! + all }),
  };
}

/** Crash-stops a random live node (not `spare`) and times until no live node holds its entry. */
export function measureForgetting(
  sim: GossipSim,
  deadlineIntervals: number,
  spare = -1,
): number | undefined {
  let victim = sim.random.int(sim.size);
  while (!sim.isAlive(victim) || victim === spare) victim = sim.random.int(sim.size);
  sim.kill(victim);
  return waitFor(sim, () => sim.knownBy(victim) === 0, deadlineIntervals);
}
