/**
 * The standard gossip experiment, shared by the CLI and the benchmark: warm up, measure ages
 * against the formulas, then time a join and a crash. Sizes default from the formulas so the
 * same call works for 32 or 10 000 nodes.
 *
 * Two things make the comparison like with like (docs/simulator-gossip.md):
 * - The window. The formulas describe the threshold window (every entry of age ≤ T; X_T is its
 *   expected size) and index their table by w through T(w). `threshold` simulates exactly that;
 *   `fixed` (own + w − 1 youngest, the daemon's default) is the variant they approximate.
 * - The unit. The formulas count ages in whole gossip steps: the first term of the mean age,
 *   1 / (1 − (1 − 1/(n−1))^X), is the mean of a geometric number of steps (1, 2, …), where a
 *   continuous-time observer at a random instant sees (2 − p) / 2p = 1/p − ½ (renewal theory;
 *   the paper's own approximation (n−1)/w + ½ + A_w carries the same ½). The simulator samples
 *   continuous ages at random instants, so it adds ½ step before comparing. Both figures are
 *   reported.
 */
import { MAX_WINDOW_ENTRIES } from '../gossip/config.js';
import type { WindowPolicy } from '../gossip/config.js';
import { fixedWindowFormulas, timeToReachFraction } from '../gossip/formulas.js';
import type { GossipFormulaValues } from '../gossip/formulas.js';
import { measureAges, measureForgetting, measureJoin } from './experiments.js';
import type { AgeMeasurement, JoinMeasurement } from './experiments.js';
import { GossipSim } from './gossip-sim.js';
import type { NetworkOptions } from './network.js';

/** Continuous ages at random instants → the formulas' whole steps (see the header). */
export const WHOLE_STEP_OFFSET = 0.5;

/** Node-intervals the default measuring period spans at least: small clusters are measured longer. */
const DEFAULT_NODE_INTERVALS = 100_000;

export type GossipWindowKind = 'threshold' | 'fixed';

export interface GossipExperimentOptions {
  readonly nodes: number;
  readonly window: number;
  /** `threshold` (default): every entry of age ≤ T(window); `fixed`: own + window − 1 youngest. */
  readonly windowKind?: GossipWindowKind;
  readonly seed: number;
  /** Intervals before measuring; default 8 × the formula's maximal age (see research note). */
  readonly warmupIntervals?: number;
  /** Intervals of sampling; default max(2 × the formula's maximal age, 100 000 / nodes). */
  readonly measureIntervals?: number;
  readonly nodesPerInstant?: number;
  /** Default 4 × the formula's maximal age, so no live entry ever expires in steady state. */
  readonly maxAgeIntervals?: number;
  readonly clusters?: number;
  readonly network?: NetworkOptions;
  readonly useCodec?: boolean;
  readonly bootstrap?: 'one-seed' | 'all';
  /** Skip the join and crash phases (they add about maxAge intervals). */
  readonly agesOnly?: boolean;
}

export interface GossipExperimentReport {
  readonly nodes: number;
  readonly window: number;
  readonly windowKind: GossipWindowKind;
  readonly seed: number;
  readonly warmupIntervals: number;
  readonly measureIntervals: number;
  readonly maxAgeIntervals: number;
  readonly formula: GossipFormulaValues;
  /** Continuous ages sampled at random instants. */
  readonly measured: AgeMeasurement;
  /** The same in the formulas' unit, whole steps: measured + {@link WHOLE_STEP_OFFSET}. */
  readonly measuredSteps: { readonly meanAge: number; readonly maxAge: number };
  /** Relative deviation (simulated in whole steps − formula) / formula. */
  readonly meanAgeError: number;
  readonly maxAgeError: number;
  readonly join?: JoinMeasurement & { readonly formulaHalf: number; readonly formulaMost: number };
  readonly forgottenByAllIntervals?: number | null;
  readonly messages: number;
  /** Most entries a window may carry (threshold: the datagram's bound). */
  readonly windowCap: number;
  /** Threshold windows cut at {@link windowCap} while the ages were measured. */
  readonly windowsCapped: number;
  readonly wallMs: number;
}

export function runGossipExperiment(
  o: GossipExperimentOptions,
  wallClock: () => number,
): GossipExperimentReport {
  const started = wallClock();
  const formula = fixedWindowFormulas(o.nodes, o.window);
  const warmupIntervals = o.warmupIntervals ?? Math.ceil(8 * formula.maxAge);
  const measureIntervals =
    o.measureIntervals ??
    Math.max(Math.ceil(2 * formula.maxAge), Math.ceil(DEFAULT_NODE_INTERVALS / o.nodes));
  const maxAgeIntervals = o.maxAgeIntervals ?? Math.ceil(4 * formula.maxAge);
  const windowKind = o.windowKind ?? 'threshold';
  const windowCap = windowKind === 'fixed' ? o.window : Math.min(o.nodes, MAX_WINDOW_ENTRIES);
  const intervalMs = 1000;
  const window: WindowPolicy =
    windowKind === 'fixed'
      ? { kind: 'fixed', size: o.window }
      : {
          kind: 'threshold',
          thresholdMs: formula.thresholdT * intervalMs,
          // Only the datagram's bound: windows average w entries but their sizes spread far
          // (a cap of 4 w cut ~1 % of them at w = 8). Windows it cuts are counted and reported.
          maxEntries: windowCap,
        };
  const sim = new GossipSim({
    nodes: o.nodes,
    window,
    seed: o.seed,
    maxAgeMs: maxAgeIntervals * intervalMs,
    intervalMs,
    ...(o.clusters !== undefined && { clusters: o.clusters }),
    ...(o.network !== undefined && { network: o.network }),
    ...(o.useCodec !== undefined && { useCodec: o.useCodec }),
    ...(o.bootstrap !== undefined && { bootstrap: o.bootstrap }),
  });
  const windowsCapped = (): number =>
    sim.nodes.reduce((sum, node) => sum + node.stats.windowsCapped, 0);
  sim.runIntervals(warmupIntervals);
  const cappedBefore = windowsCapped();
  const measured = measureAges(sim, measureIntervals, o.nodesPerInstant ?? Math.min(o.nodes, 16));
  const cappedWhileMeasuring = windowsCapped() - cappedBefore;
  let join: GossipExperimentReport['join'];
  let forgottenByAllIntervals: number | null | undefined;
  if (!o.agesOnly) {
    const j = measureJoin(sim, maxAgeIntervals);
    join = {
      ...j,
      formulaHalf: timeToReachFraction(o.nodes, o.window, 0.5),
      formulaMost: timeToReachFraction(o.nodes, o.window, 0.99),
    };
    forgottenByAllIntervals = measureForgetting(sim, 2 * maxAgeIntervals, j.index) ?? null;
  }
  const measuredSteps = {
    meanAge: measured.meanAge + WHOLE_STEP_OFFSET,
    maxAge: measured.maxAge + WHOLE_STEP_OFFSET,
  };
  return {
    nodes: o.nodes,
    window: o.window,
    windowKind,
    seed: o.seed,
    warmupIntervals,
    measureIntervals,
    maxAgeIntervals,
    formula,
    measured,
    measuredSteps,
    meanAgeError: measuredSteps.meanAge / formula.meanAge - 1,
    maxAgeError: measuredSteps.maxAge / formula.maxAge - 1,
    ...(join !== undefined && { join }),
    ...(forgottenByAllIntervals !== undefined && { forgottenByAllIntervals }),
    messages: sim.network.stats.sent,
    windowCap,
    windowsCapped: cappedWhileMeasuring,
    wallMs: wallClock() - started,
  };
}
