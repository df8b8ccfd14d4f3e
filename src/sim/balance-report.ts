/**
 * The balancing experiment shared by the CLI, the tests and the benchmark: one workload, every
 * policy on it, the figures side by side and the verdict of the goals.
 */
import { pooledProcessorSharing } from './balance-pooled.js';
import type { PooledOutcome } from './balance-pooled.js';
import { pooledServedLongestFirst } from './balance-pooled-list.js';
import { POLICIES, simulatePolicy } from './balance-sim.js';
import type { PolicyName, PolicyOutcome } from './balance-sim.js';
import { makeWorkload } from './balance-workload.js';
import type { BalanceSimOptions } from './balance-workload.js';
import { counted } from '../core/counted.js';
import { DEFAULT_BALANCE_SETTINGS } from '../balance/policy.js';

/** Osmosis's makespan may exceed the ideal by this factor at most. */
export const MAKESPAN_GOAL = 1.1;

/** Policies that place a job once and never move it. */
export const STATIC_POLICIES: readonly PolicyName[] = POLICIES.filter((p) => p !== 'osmosis');

export interface BalanceGoals {
  /** Also require no bounce (steady load). */
  readonly noBounces?: boolean;
}

export interface PolicyFigures extends PolicyOutcome {
  /** Makespan over the ideal. */
  readonly makespanRatio: number;
  /** Makespan over the pooled fair-share reference's. */
  readonly makespanVsPooled: number;
}

/** A reference row (a pooled machine, not a policy): its outcome and its makespan over the ideal. */
export interface ReferenceFigures extends PooledOutcome {
  readonly makespanRatio: number;
}

export interface BalanceReport {
  readonly scenario: string | null;
  readonly description: string | null;
  readonly options: BalanceSimOptions;
  readonly cluster: {
    readonly nodes: number;
    readonly capacity: number;
    /** Node count per speed. */
    readonly speeds: Readonly<Record<string, number>>;
  };
  readonly workload: {
    readonly jobs: number;
    readonly totalWorkSec: number;
    readonly meanWorkSec: number;
    readonly maxWorkSec: number;
    readonly paretoScaleSec: number;
    readonly arrivalWindowSec: number;
    readonly ioJobs: number;
    readonly largeJobs: number;
  };
  readonly idealSec: number;
  /**
   * Reference, not a policy: the cluster as one pooled machine shared equally by the jobs
   * present (free, instant, continuous migration). No processor-sharing policy does better.
   */
  readonly pooled: ReferenceFigures;
  /**
   * Reference, not a policy: the pooled machine serving the jobs served longest first (list
   * scheduling). For Pareto lengths, what no policy that does not know the lengths beats on
   * average (`balance-pooled-list.ts`).
   */
  readonly pooledList: ReferenceFigures;
  readonly policies: readonly PolicyFigures[];
  readonly check: {
    readonly passed: boolean;
    readonly goals: readonly string[];
    readonly failures: readonly string[];
  };
  readonly wallMs: number;
}

export interface BalanceRunOptions {
  readonly scenario?: string;
  readonly description?: string;
  readonly goals?: BalanceGoals;
  readonly policies?: readonly PolicyName[];
}

export function runBalanceExperiment(
  options: BalanceSimOptions,
  wallClock: () => number,
  run: BalanceRunOptions = {},
): BalanceReport {
  const started = wallClock();
  const workload = makeWorkload(options);
  const pooled = pooledProcessorSharing(workload);
  const pooledList = pooledServedLongestFirst(workload);
  const policies = (run.policies ?? POLICIES).map((policy): PolicyFigures => {
    const { outcome } = simulatePolicy(workload, options, policy);
    return {
      ...outcome,
      makespanRatio: outcome.makespanSec / workload.idealSec,
      makespanVsPooled: outcome.makespanSec / pooled.makespanSec,
    };
  });
  const speeds: Record<string, number> = {};
  for (const n of workload.nodes) speeds[n.speed] = (speeds[n.speed] ?? 0) + 1;
  const large = workload.jobs.filter((j) => j.memBytes > options.jobMemoryMb * 2 ** 20).length;
  return {
    scenario: run.scenario ?? null,
    description: run.description ?? null,
    options: { ...options, arrivalWindowSec: workload.arrivalWindowSec },
    cluster: { nodes: workload.nodes.length, capacity: workload.capacity, speeds },
    workload: {
      jobs: workload.jobs.length,
      totalWorkSec: workload.totalWorkSec,
      meanWorkSec: workload.totalWorkSec / workload.jobs.length,
      maxWorkSec: workload.maxWorkSec,
      paretoScaleSec: workload.paretoScaleSec,
      arrivalWindowSec: workload.arrivalWindowSec,
      ioJobs: workload.jobs.filter((j) => j.syscallsPerWorkSec > 0).length,
      largeJobs: large,
    },
    idealSec: workload.idealSec,
    pooled: { ...pooled, makespanRatio: pooled.makespanSec / workload.idealSec },
    pooledList: { ...pooledList, makespanRatio: pooledList.makespanSec / workload.idealSec },
    policies,
    check: checkGoals(policies, run.goals ?? {}),
    wallMs: wallClock() - started,
  };
}

/** The goals Osmosis must meet against the policies that ran beside it. */
export function checkGoals(
  policies: readonly PolicyFigures[],
  goals: BalanceGoals,
): BalanceReport['check'] {
  const stated = [
    `makespan ≤ ${MAKESPAN_GOAL.toFixed(2)} × ideal`,
    'mean slowdown below every static policy',
  ];
  if (goals.noBounces === true) stated.push('no bounces');
  const osmosis = policies.find((p) => p.policy === 'osmosis');
  if (osmosis === undefined) {
    return { passed: false, goals: stated, failures: ['osmosis did not run'] };
  }
  const failures: string[] = [];
  if (!(osmosis.makespanRatio <= MAKESPAN_GOAL)) {
    failures.push(`makespan ${osmosis.makespanRatio.toFixed(3)} × ideal > ${MAKESPAN_GOAL}`);
  }
  for (const p of policies) {
    if (p.policy === 'osmosis') continue;
    if (!(osmosis.meanSlowdown < p.meanSlowdown)) {
      failures.push(
        `mean slowdown ${osmosis.meanSlowdown.toFixed(2)} not below ${p.policy}'s ${p.meanSlowdown.toFixed(2)}`,
      );
    }
  }
  if (goals.noBounces === true && osmosis.bounces > 0) {
    failures.push(`${osmosis.bounces} bounces`);
  }
  return { passed: failures.length === 0, goals: stated, failures };
}

const num = (x: number, digits: number, width: number): string => x.toFixed(digits).padStart(width);

/** The report as the text table the CLI prints. */
export function formatReport(r: BalanceReport): string {
  const o = r.options;
  const w = r.workload;
  const speeds = Object.entries(r.cluster.speeds)
    .map(([s, n]) => `${n}×${s}`)
    .join(' ');
  const arrivals =
    w.arrivalWindowSec > 0 ? `Poisson over ${w.arrivalWindowSec.toFixed(0)} s` : 'all at t=0';
  const extras = [
    w.ioJobs > 0 ? `${w.ioJobs} I/O jobs (${o.ioSyscallsPerWorkSec} calls per work-s)` : '',
    w.largeJobs > 0 ? `${w.largeJobs} jobs of ${o.largeJobMemoryMb} MB` : '',
  ].filter((x) => x !== '');
  const lines = [
    `${r.scenario !== null ? `scenario ${r.scenario}` : 'balance'}` +
      `${r.description !== null ? ` — ${r.description}` : ''} (seed ${o.seed})`,
    `  ${r.cluster.nodes} nodes × ${o.cpus} cpu (speeds ${speeds}; capacity ${r.cluster.capacity.toFixed(1)}), ` +
      `${o.memoryMb} MB each; ${counted(o.homes, 'home')}; view ${o.viewSize === 0 ? 'all' : o.viewSize} nodes`,
    ...(o.partnerNodes > 0 ? [`  ${partnerLine(o)}`] : []),
    `  ${w.jobs} jobs, ${arrivals}: Pareto α=${o.paretoAlpha} mean ${w.meanWorkSec.toFixed(1)} s ` +
      `(xm ${w.paretoScaleSec.toFixed(2)} s, longest ${w.maxWorkSec.toFixed(0)} s, Σ ${w.totalWorkSec.toFixed(0)} s), ` +
      `${o.jobMemoryMb} MB${extras.length > 0 ? `; ${extras.join('; ')}` : ''}`,
    `  ideal makespan ${r.idealSec.toFixed(1)} s`,
    '  policy        makespan s  /ideal  /pooled  mean slowdown  p95 slowdown  migr/job  bounces  refused  mem-low node·s',
    `  (pooled PS)  ${num(r.pooled.makespanSec, 1, 11)} ${num(r.pooled.makespanRatio, 3, 7)} ${num(1, 3, 8)} ` +
      `${num(r.pooled.meanSlowdown, 2, 14)}    reference: one machine shared equally, free instant moves`,
    `  (pooled list)${num(r.pooledList.makespanSec, 1, 10)} ${num(r.pooledList.makespanRatio, 3, 7)} ` +
      `${num(r.pooledList.makespanSec / r.pooled.makespanSec, 3, 8)} ${num(r.pooledList.meanSlowdown, 2, 14)}    ` +
      'reference: one machine, longest-served first (least expected makespan without knowing lengths)',
  ];
  for (const p of r.policies) {
    lines.push(
      `  ${p.policy.padEnd(12)} ${num(p.makespanSec, 1, 11)} ${num(p.makespanRatio, 3, 7)} ` +
        `${num(p.makespanVsPooled, 3, 8)} ` +
        `${num(p.meanSlowdown, 2, 14)} ${num(p.p95Slowdown, 2, 13)} ${num(p.migrationsPerJob, 3, 9)} ` +
        `${String(p.bounces).padStart(8)} ${String(p.refusedMoves).padStart(8)} ${num(p.memLowNodeSec, 1, 15)}`,
    );
  }
  const osmosis = r.policies.find((p) => p.policy === 'osmosis');
  if (osmosis !== undefined && osmosis.migrations > 0) {
    const m = osmosis.moveReasons;
    lines.push(
      `  osmosis moves by reason: memory ${m.memory}, load ${m.load}, speed ${m.speed}, home ${m.home}; ` +
        `I/O jobs moved ${osmosis.ioJobMigrations} times; ${osmosis.decisions} decisions`,
    );
  }
  lines.push(
    r.check.passed
      ? `  goals met: ${r.check.goals.join('; ')}`
      : `  goals NOT met: ${r.check.failures.join('; ')}`,
    `  ${(r.wallMs / 1000).toFixed(1)} s wall time`,
  );
  return lines.join('\n');
}

/** The partner cluster, and what Osmosis charges a move there before it measured one. */
function partnerLine(o: BalanceSimOptions): string {
  const lanMbit = (DEFAULT_BALANCE_SETTINGS.linkBytesPerSec * 8) / 1e6;
  const charged = !o.measuredLinks
    ? `Osmosis charges every move ${lanMbit} Mbit`
    : `Osmosis assumes ${o.otherClusterLinkMbit > 0 ? o.otherClusterLinkMbit : lanMbit} Mbit ` +
      'there until a move measured it';
  return `the last ${o.partnerNodes} nodes a partner cluster behind ${o.partnerLinkMbit} Mbit; ${charged}`;
}
