/**
 * The standard gossip experiment, shared by the CLI and the benchmark: warm up, measure ages
 * against the formulas, then time a join and a crash. Sizes default from the formulas so the
 * same call works for 32 or 10 000 nodes.
 */
import { fixedWindowFormulas, timeToReachFraction } from '../gossip/formulas.js';
import type { GossipFormulaValues } from '../gossip/formulas.js';
import { measureAges, measureForgetting, measureJoin } from './experiments.js';
import type { AgeMeasurement, JoinMeasurement } from './experiments.js';
import { GossipSim } from './gossip-sim.js';
import type { NetworkOptions } from './network.js';

export interface GossipExperimentOptions {
  readonly nodes: number;
  readonly window: number;
  readonly seed: number;
  /** Intervals before measuring; default 8 × the formula's maximal age (see research note). */
  readonly warmupIntervals?: number;
  /** Intervals of sampling; default max(200, 2 × the formula's maximal age). */
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
  readonly seed: number;
  readonly warmupIntervals: number;
  readonly measureIntervals: number;
  readonly maxAgeIntervals: number;
  readonly formula: GossipFormulaValues;
  readonly measured: AgeMeasurement;
  /** Relative deviation (simulated − formula) / formula. */
  readonly meanAgeError: number;
  readonly maxAgeError: number;
  readonly join?: JoinMeasurement & { readonly formulaHalf: number; readonly formulaMost: number };
  readonly forgottenByAllIntervals?: number | null;
  readonly messages: number;
  readonly wallMs: number;
}

export function runGossipExperiment(
  o: GossipExperimentOptions,
  wallClock: () => number,
): GossipExperimentReport {
  const started = wallClock();
  const formula = fixedWindowFormulas(o.nodes, o.window);
  const warmupIntervals = o.warmupIntervals ?? Math.ceil(8 * formula.maxAge);
  const measureIntervals = o.measureIntervals ?? Math.max(200, Math.ceil(2 * formula.maxAge));
  const maxAgeIntervals = o.maxAgeIntervals ?? Math.ceil(4 * formula.maxAge);
  const sim = new GossipSim({
    nodes: o.nodes,
    window: { kind: 'fixed', size: o.window },
    seed: o.seed,
    maxAgeMs: maxAgeIntervals * 1000,
    intervalMs: 1000,
    ...(o.clusters !== undefined && { clusters: o.clusters }),
    ...(o.network !== undefined && { network: o.network }),
    ...(o.useCodec !== undefined && { useCodec: o.useCodec }),
    ...(o.bootstrap !== undefined && { bootstrap: o.bootstrap }),
  });
  sim.runIntervals(warmupIntervals);
  const measured = measureAges(sim, measureIntervals, o.nodesPerInstant ?? Math.min(o.nodes, 16));
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
  return {
    nodes: o.nodes,
    window: o.window,
    seed: o.seed,
    warmupIntervals,
    measureIntervals,
    maxAgeIntervals,
    formula,
    measured,
    meanAgeError: measured.meanAge / formula.meanAge - 1,
    maxAgeError: measured.maxAge / formula.maxAge - 1,
    ...(join !== undefined && { join }),
    ...(forgottenByAllIntervals !== undefined && { forgottenByAllIntervals }),
    messages: sim.network.stats.sent,
    wallMs: wallClock() - started,
  };
}
