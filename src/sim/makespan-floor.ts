/**
 * How close to the ideal makespan can a scenario's workloads be run at all, by a rule that does
 * not know the job lengths? Over many seeds of one scenario: the ideal (which knows them), the
 * pooled fair-share machine, and the pooled machine serving the longest-served jobs first (the
 * least expected makespan for Pareto lengths, `balance-pooled-list.ts`). No policy runs: only the
 * workloads and the two references, so hundreds of seeds take seconds.
 */
import { pooledProcessorSharing } from './balance-pooled.js';
import { pooledServedLongestFirst } from './balance-pooled-list.js';
import { MAKESPAN_GOAL } from './balance-report.js';
import { makeWorkload } from './balance-workload.js';
import type { BalanceSimOptions } from './balance-workload.js';

export interface ReferenceSpread {
  /** Mean over seeds of makespan / ideal. */
  readonly meanRatio: number;
  readonly medianRatio: number;
  readonly p10Ratio: number;
  readonly p90Ratio: number;
  /** Mean makespan over mean ideal: the ratio of the expectations. */
  readonly ratioOfMeans: number;
  /** Share of seeds at or under the goal (`MAKESPAN_GOAL` × ideal). */
  readonly shareWithinGoal: number;
}

export interface MakespanFloorReport {
  readonly seeds: readonly number[];
  readonly meanIdealSec: number;
  readonly pooledPs: ReferenceSpread;
  readonly pooledList: ReferenceSpread;
  readonly goal: number;
}

export function makespanFloor(
  options: BalanceSimOptions,
  seeds: readonly number[],
): MakespanFloorReport {
  const ideal: number[] = [];
  const ps: number[] = [];
  const list: number[] = [];
  for (const seed of seeds) {
    const workload = makeWorkload({ ...options, seed });
    ideal.push(workload.idealSec);
    ps.push(pooledProcessorSharing(workload).makespanSec);
    list.push(pooledServedLongestFirst(workload).makespanSec);
  }
  return {
    seeds,
    meanIdealSec: mean(ideal),
    pooledPs: spread(ps, ideal),
    pooledList: spread(list, ideal),
    goal: MAKESPAN_GOAL,
  };
}

function spread(makespans: readonly number[], ideals: readonly number[]): ReferenceSpread {
  const ratios = makespans.map((m, i) => m / ideals[i]!).sort((a, b) => a - b);
  const at = (q: number): number =>
    ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))]!;
  return {
    meanRatio: mean(ratios),
    medianRatio: at(0.5),
    p10Ratio: at(0.1),
    p90Ratio: at(0.9),
    ratioOfMeans: mean(makespans) / mean(ideals),
    shareWithinGoal: ratios.filter((r) => r <= MAKESPAN_GOAL).length / ratios.length,
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((sum, x) => sum + x, 0) / xs.length;
}
