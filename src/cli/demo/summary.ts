/**
 * The demo's result: the makespan with the balancer, without it, their ratio, and the ideal
 * (every CPU-second of the jobs spread perfectly over every node's capacity). Pure: computed from
 * the runs' records, formatted as text or JSON.
 */
import type { JobRow, NodeRow, RunKind } from './model.js';
import { counted } from '../../core/counted.js';

export interface RunRecord {
  readonly kind: RunKind;
  /** First job started → last job ended. */
  readonly makespanMs: number;
  readonly migrations: number;
  readonly jobs: readonly JobRow[];
  readonly nodePids: readonly number[];
}

export interface SummaryInput {
  readonly nodes: readonly NodeRow[];
  /** Cores of this machine (the bound when unconfined). */
  readonly cores: number;
  readonly confined: boolean;
  readonly balanced: RunRecord;
  readonly baseline: RunRecord | undefined;
}

export interface Ideal {
  readonly makespanMs: number;
  /** Σ of the jobs' CPU seconds. */
  readonly cpuSec: number;
  /** Σ of the nodes' capacities, in CPUs. */
  readonly capacity: number;
  /** Which run's CPU figures were summed. */
  readonly from: RunKind;
}

export interface Summary {
  readonly withMigrationMs: number;
  readonly withoutMigrationMs: number | undefined;
  /** without / with. */
  readonly speedup: number | undefined;
  readonly migrations: number;
  readonly ideal: Ideal | undefined;
}

/** CPUs the nodes have between them: their quotas, or this machine's cores when unconfined. */
export function capacityOf(nodes: readonly NodeRow[], cores: number, confined: boolean): number {
  if (confined) return nodes.reduce((sum, n) => sum + (n.cpuShare ?? 0), 0);
  return Math.min(cores, nodes.length);
}

/** Σ of the CPU seconds the jobs printed; undefined if one did not print it. */
export function totalCpuSec(jobs: readonly JobRow[]): number | undefined {
  let sum = 0;
  for (const j of jobs) {
    if (j.reportedCpuSec === undefined) return undefined;
    sum += j.reportedCpuSec;
  }
  return sum;
}

export function summarise(input: SummaryInput): Summary {
  const { balanced, baseline } = input;
  const capacity = capacityOf(input.nodes, input.cores, input.confined);
  // The baseline's figures when there is one: its jobs never paid for a move.
  const source = baseline ?? balanced;
  const cpuSec = totalCpuSec(source.jobs);
  const ideal: Ideal | undefined =
    cpuSec === undefined || !(capacity > 0)
      ? undefined
      : { makespanMs: (cpuSec / capacity) * 1000, cpuSec, capacity, from: source.kind };
  return {
    withMigrationMs: balanced.makespanMs,
    withoutMigrationMs: baseline?.makespanMs,
    speedup:
      baseline === undefined || !(balanced.makespanMs > 0)
        ? undefined
        : baseline.makespanMs / balanced.makespanMs,
    migrations: balanced.migrations,
    ideal,
  };
}

const s1 = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function share(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

/** The human summary, one fact a line. */
export function formatSummary(input: SummaryInput, summary: Summary): string[] {
  const { nodes, balanced } = input;
  const home = nodes[0]?.name ?? 'home';
  const capacity = capacityOf(nodes, input.cores, input.confined);
  const lines: string[] = [];
  lines.push(
    input.confined
      ? `summary: ${nodes.length} nodes on this machine, confined to ${nodes.map((n) => `${n.name} ${share(n.cpuShare ?? 0)}`).join(', ')} CPU (${share(capacity)} CPUs in all)`
      : `summary: ${nodes.length} nodes sharing this machine's ${counted(input.cores, 'core')} (not confined), so the speed-up is bounded by ${share(capacity)}`,
  );
  const jobs = balanced.jobs.length;
  lines.push(
    `  with migration     ${s1(summary.withMigrationMs).padStart(7)}   ${counted(jobs, 'job')} started at ${home}, ${counted(summary.migrations, 'migration')}`,
  );
  if (summary.withoutMigrationMs !== undefined)
    lines.push(
      `  without migration  ${s1(summary.withoutMigrationMs).padStart(7)}   the same jobs, balancer off: all at ${home}`,
    );
  else lines.push('  without migration        -   not run (--no-baseline)');
  if (summary.speedup !== undefined)
    lines.push(
      `  speed-up           ${`${summary.speedup.toFixed(2)}×`.padStart(7)}   without / with`,
    );
  if (summary.ideal !== undefined) {
    const i = summary.ideal;
    lines.push(
      `  ideal              ${s1(i.makespanMs).padStart(7)}   ${i.cpuSec.toFixed(1)} s of CPU (as the jobs measured it, ${i.from === 'baseline' ? 'baseline run' : 'run with migration'}) / ${share(i.capacity)} CPUs`,
    );
  } else lines.push('  ideal                    -   a job did not report its CPU time');
  lines.push('  where the jobs ran (with migration):');
  // Columns as wide as their longest entry, so that every path and end line up.
  const command = (j: (typeof balanced.jobs)[number]) => `${j.program} ${j.args.join(' ')}`;
  const commandWidth = Math.max(18, ...balanced.jobs.map((j) => command(j).length));
  const trailWidth = Math.max(16, ...balanced.jobs.map((j) => j.trail.join(' -> ').length));
  for (const j of balanced.jobs) {
    const cpu = j.reportedCpuSec === undefined ? '' : `, cpu ${j.reportedCpuSec.toFixed(2)} s`;
    const end = j.endedMs === undefined ? 'did not end' : `ended on ${j.where} at ${s1(j.endedMs)}`;
    lines.push(
      `    job ${String(j.id).padStart(2)} ${command(j).padEnd(commandWidth)} ${j.trail.join(' -> ').padEnd(trailWidth)} ${end}${cpu}`,
    );
  }
  return lines;
}

/** The `--json` form: everything above plus the pids, for scripts and tests. */
export function summaryJson(input: SummaryInput, summary: Summary): Record<string, unknown> {
  const run = (r: RunRecord): Record<string, unknown> => ({
    makespanMs: Math.round(r.makespanMs),
    migrations: r.migrations,
    nodePids: r.nodePids,
    jobs: r.jobs.map((j) => ({
      id: j.id,
      program: j.program,
      args: j.args,
      pid: j.pid,
      exitCode: j.exitCode,
      path: j.trail,
      endedOn: j.where,
      endedMs: j.endedMs === undefined ? undefined : Math.round(j.endedMs),
      cpuSec: j.reportedCpuSec,
      result: j.result,
    })),
  });
  return {
    nodes: input.nodes.map((n) => ({ name: n.name, speed: n.speed, cpuShare: n.cpuShare })),
    confined: input.confined,
    cores: input.cores,
    withMigrationMs: Math.round(summary.withMigrationMs),
    withoutMigrationMs:
      summary.withoutMigrationMs === undefined ? undefined : Math.round(summary.withoutMigrationMs),
    speedup: summary.speedup,
    migrations: summary.migrations,
    ideal:
      summary.ideal === undefined
        ? undefined
        : { ...summary.ideal, makespanMs: Math.round(summary.ideal.makespanMs) },
    runs: {
      balanced: run(input.balanced),
      ...(input.baseline === undefined ? {} : { baseline: run(input.baseline) }),
    },
  };
}
