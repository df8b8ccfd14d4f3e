#!/usr/bin/env node
/**
 * `osmo-sim`: runs simulations of the pure cores. Usage:
 *   npm run sim -- gossip --nodes 1024 --window 16 --seed 1 [--json]
 *   npm run sim -- balance --scenario all --seed 1 [--json] [--check]
 *   npm run sim -- makespan-floor --scenario uniform-one-home --seeds 200 [--json]
 * Exit codes: 0 success; 1 unexpected failure; 2 bad arguments; 3 `--check` failed (gossip:
 * simulated ages outside 5 % / 10 % of the formulas; balance: Osmosis misses its goals).
 */
import { Command, InvalidArgumentError } from 'commander';
import { registerBalanceCommand } from './balance-cli.js';
import { registerMakespanFloorCommand } from './makespan-floor-cli.js';
import { runGossipExperiment } from './gossip-report.js';
import type { GossipExperimentOptions, GossipExperimentReport } from './gossip-report.js';
import { EXIT_CHECK_FAILED, EXIT_USAGE, fraction, integer } from './cli-args.js';

const MEAN_TOLERANCE = 0.05;
const MAX_TOLERANCE = 0.1;

function latencyRange(value: string): [number, number] {
  const parts = value.split(',').map(Number);
  const [min, max] = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (parts.length > 2 || min === undefined || max === undefined || !(min >= 0 && max >= min)) {
    throw new InvalidArgumentError('expected MS or MIN,MAX with 0 ≤ MIN ≤ MAX');
  }
  return [min, max];
}

interface GossipFlags {
  nodes: number;
  window: number;
  windowKind: string;
  seed: number;
  warmup?: number;
  measure?: number;
  maxAge?: number;
  clusters?: number;
  latencyMs?: [number, number];
  loss?: number;
  codec?: boolean;
  bootstrap: string;
  agesOnly?: boolean;
  json?: boolean;
  check?: boolean;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
const fmt = (x: number | null | undefined, digits = 1): string =>
  x === undefined || x === null ? 'not reached' : x.toFixed(digits);

function printText(r: GossipExperimentReport): void {
  const f = r.formula;
  const m = r.measured;
  const lines = [
    `gossip: n=${r.nodes} w=${r.window} seed=${r.seed}; warm-up ${r.warmupIntervals} intervals, ` +
      `measured over ${r.measureIntervals} intervals (${m.samples} node samples), maxAge ${r.maxAgeIntervals}`,
    `  window: ${r.windowKind === 'fixed' ? `fixed, own + ${r.window - 1} youngest` : `every entry of age ≤ T = ${f.thresholdT.toFixed(3)} (expected size ${r.window})`}`,
    `                  at random instants   in whole steps   formula   deviation   (ages in intervals)`,
    `  average age     ${m.meanAge.toFixed(2).padStart(18)} ${r.measuredSteps.meanAge.toFixed(2).padStart(16)} ${f.meanAge.toFixed(2).padStart(9)}   ${pct(r.meanAgeError).padStart(9)}`,
    `  maximal age     ${m.maxAge.toFixed(1).padStart(18)} ${r.measuredSteps.maxAge.toFixed(1).padStart(16)} ${f.maxAge.toFixed(1).padStart(9)}   ${pct(r.maxAgeError).padStart(9)}`,
    `  coverage (share of live nodes known): ${(100 * m.coverage).toFixed(2)} %`,
  ];
  if (r.join !== undefined) {
    lines.push(
      `  new node known to 50 %: ${fmt(r.join.half)} intervals (formula ≈ ${r.join.formulaHalf.toFixed(1)})`,
      `  new node known to 99 %: ${fmt(r.join.most)} intervals (formula ≈ ${r.join.formulaMost.toFixed(1)})`,
      `  new node known to all:  ${fmt(r.join.all)} intervals`,
      `  dead node forgotten by all: ${fmt(r.forgottenByAllIntervals)} intervals (maxAge ${r.maxAgeIntervals})`,
    );
  }
  const recommended = Math.ceil(8 * f.maxAge);
  if (r.warmupIntervals < recommended) {
    lines.push(
      `  note: warm-up shorter than 8 × the expected maximal age (${recommended}); ages are not yet stationary`,
    );
  }
  if (r.windowsCapped > 0) {
    lines.push(
      `  note: ${r.windowsCapped} threshold windows were cut at ${r.windowCap} entries while measuring`,
    );
  }
  lines.push(`  ${r.messages} messages, ${(r.wallMs / 1000).toFixed(1)} s wall time`);
  console.log(lines.join('\n'));
}

const program = new Command('osmo-sim')
  .description('Deterministic simulations of the Osmosis cores')
  .addHelpText(
    'after',
    '\nExit codes: 0 success, 1 unexpected failure, 2 bad arguments, 3 --check outside tolerance.',
  )
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  });

program
  .command('gossip')
  .description(
    'simulate MOSIX gossip: ages vs the Amar–Barak–Drezner–Okun formulas, join and expiry times',
  )
  .requiredOption('-n, --nodes <n>', 'number of nodes', integer(3))
  .requiredOption(
    '-w, --window <w>',
    "window size w, own entry included (with --window-kind threshold: T(w), the formulas' threshold for an expected w)",
    integer(1),
  )
  .option(
    '--window-kind <kind>',
    "'threshold' (every entry of age ≤ T(w): the window the formulas describe) or 'fixed' (own + w−1 youngest: the daemon's)",
    'threshold',
  )
  .option('-s, --seed <seed>', 'random seed', integer(0), 1)
  .option('--warmup <intervals>', 'warm-up (default 8 × formula maximal age)', integer(0))
  .option(
    '--measure <intervals>',
    'sampling period (default max(2 × maximal age, 100 000 / nodes))',
    integer(1),
  )
  .option('--max-age <intervals>', 'entry expiry (default 4 × formula maximal age)', integer(1))
  .option('--clusters <k>', 'split nodes into k clusters', integer(1))
  .option('--latency-ms <ms|min,max>', 'network latency, uniform in [min, max]', latencyRange)
  .option('--loss <p>', 'datagram loss probability', fraction)
  .option('--codec', 'send every message through the binary codec')
  .option(
    '--bootstrap <mode>',
    "'one-seed' (all know node 0) or 'all' (all know all addresses)",
    'one-seed',
  )
  .option('--ages-only', 'skip the join and expiry measurements')
  .option('--json', 'print the report as JSON')
  .option(
    '--check',
    `exit ${EXIT_CHECK_FAILED} if the ages deviate more than 5 % / 10 % from the formulas`,
  )
  .action((flags: GossipFlags) => {
    if (flags.window >= flags.nodes) {
      console.error(
        `osmo-sim: --window ${flags.window} must be smaller than --nodes ${flags.nodes}`,
      );
      process.exit(EXIT_USAGE);
    }
    if (flags.windowKind !== 'threshold' && flags.windowKind !== 'fixed') {
      console.error(
        `osmo-sim: --window-kind must be 'threshold' or 'fixed', not '${flags.windowKind}'`,
      );
      process.exit(EXIT_USAGE);
    }
    if (flags.bootstrap !== 'one-seed' && flags.bootstrap !== 'all') {
      console.error(`osmo-sim: --bootstrap must be 'one-seed' or 'all', not '${flags.bootstrap}'`);
      process.exit(EXIT_USAGE);
    }
    const options: GossipExperimentOptions = {
      nodes: flags.nodes,
      window: flags.window,
      windowKind: flags.windowKind,
      seed: flags.seed,
      bootstrap: flags.bootstrap,
      ...(flags.warmup !== undefined && { warmupIntervals: flags.warmup }),
      ...(flags.measure !== undefined && { measureIntervals: flags.measure }),
      ...(flags.maxAge !== undefined && { maxAgeIntervals: flags.maxAge }),
      ...(flags.clusters !== undefined && { clusters: flags.clusters }),
      ...(flags.codec === true && { useCodec: true }),
      ...(flags.agesOnly === true && { agesOnly: true }),
      ...((flags.latencyMs !== undefined || flags.loss !== undefined) && {
        network: {
          latencyMinMs: flags.latencyMs?.[0] ?? 0,
          latencyMaxMs: flags.latencyMs?.[1] ?? 0,
          lossRate: flags.loss ?? 0,
        },
      }),
    };
    const report = runGossipExperiment(options, () => performance.now());
    if (flags.json) console.log(JSON.stringify(report, null, 2));
    else printText(report);
    if (
      flags.check &&
      (Math.abs(report.meanAgeError) > MEAN_TOLERANCE ||
        Math.abs(report.maxAgeError) > MAX_TOLERANCE)
    ) {
      process.exit(EXIT_CHECK_FAILED);
    }
  });

registerBalanceCommand(program);
registerMakespanFloorCommand(program);

try {
  program.parse();
} catch (e) {
  console.error(`osmo-sim: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
