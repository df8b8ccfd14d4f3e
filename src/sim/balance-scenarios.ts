/**
 * The named scenarios of `osmo-sim balance --scenario`: each a set of options over the defaults
 * and the goals it is held to. Fixed, so figures in BENCHMARKS.md can be reproduced by name.
 */
import type { BalanceGoals } from './balance-report.js';
import type { BalanceSimOptions } from './balance-workload.js';

export interface BalanceScenario {
  readonly name: string;
  readonly description: string;
  readonly options: Partial<BalanceSimOptions>;
  readonly goals: BalanceGoals;
}

export const BALANCE_SCENARIOS: readonly BalanceScenario[] = [
  {
    name: 'uniform-one-home',
    description: 'equal nodes, every job started at one home at t=0',
    options: { nodes: 16, jobs: 160, homes: 1 },
    goals: {},
  },
  {
    name: 'mixed-speeds-one-home',
    description: 'a third each at 5000/10000/20000, every job at one home at t=0',
    options: { nodes: 16, jobs: 160, homes: 1, speeds: 'mixed' },
    goals: {},
  },
  {
    name: 'many-homes',
    description: 'mixed speeds, jobs started at random homes across the cluster at t=0',
    options: { nodes: 64, jobs: 640, homes: 64, speeds: 'mixed' },
    goals: {},
  },
  {
    name: 'memory-pressure',
    description: '15 % of jobs need 1536 MB; 8 homes of 32 nodes start over their memory',
    options: { nodes: 32, jobs: 320, homes: 8, memoryPressure: 0.15, largeJobMemoryMb: 1536 },
    goals: {},
  },
  {
    name: 'io-mix',
    description: 'a quarter of the jobs make 20 000 system calls per work-second through home',
    options: { nodes: 16, jobs: 160, homes: 4, ioJobs: 0.25 },
    goals: {},
  },
  {
    name: 'steady-load',
    description: 'Poisson arrivals at random homes offering 70 % of the capacity',
    options: { nodes: 32, jobs: 2000, homes: 32, speeds: 'mixed', offeredLoad: 0.7 },
    goals: { noBounces: true },
  },
  {
    name: 'large-10k',
    description: '10 000 mixed nodes, 100 000 jobs at random homes at t=0, views of 16 nodes',
    options: {
      nodes: 10_000,
      jobs: 100_000,
      homes: 10_000,
      speeds: 'mixed',
      viewSize: 16,
    },
    goals: {},
  },
];

export function scenarioNamed(name: string): BalanceScenario | undefined {
  return BALANCE_SCENARIOS.find((s) => s.name === name);
}

/** What `--scenario NAME` selects: that scenario, or every one for 'all'; undefined if unknown. */
export function selectScenarios(name: string): readonly BalanceScenario[] | undefined {
  if (name === 'all') return BALANCE_SCENARIOS;
  const s = scenarioNamed(name);
  return s === undefined ? undefined : [s];
}

/** The line for a `--scenario` that names none. */
export function unknownScenario(name: string): string {
  return `unknown scenario '${name}' (known: all, ${BALANCE_SCENARIOS.map((x) => x.name).join(', ')})`;
}
