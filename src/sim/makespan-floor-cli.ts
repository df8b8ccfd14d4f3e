/**
 * `osmo-sim makespan-floor`: what makespan a scenario's workloads allow a rule that does not
 * know the job lengths, over many seeds (`makespan-floor.ts`).
 */
import type { Command } from 'commander';
import { BALANCE_SCENARIOS, selectScenarios, unknownScenario } from './balance-scenarios.js';
import type { BalanceScenario } from './balance-scenarios.js';
import { DEFAULT_BALANCE_SIM_OPTIONS, validateOptions } from './balance-workload.js';
import { EXIT_USAGE, integer, positive } from './cli-args.js';
import { makespanFloor } from './makespan-floor.js';
import type { MakespanFloorReport, ReferenceSpread } from './makespan-floor.js';

interface FloorFlags {
  scenario: string;
  seeds: number;
  firstSeed: number;
  maxWorkFactor?: number;
  json?: boolean;
}

const WIDTH = 10;
const ratio = (x: number): string => x.toFixed(3).padStart(WIDTH);

function row(name: string, s: ReferenceSpread): string {
  return (
    `  ${name.padEnd(12)}${ratio(s.meanRatio)}${ratio(s.ratioOfMeans)}${ratio(s.p10Ratio)}` +
    `${ratio(s.medianRatio)}${ratio(s.p90Ratio)}${`${(100 * s.shareWithinGoal).toFixed(0)} %`.padStart(WIDTH)}`
  );
}

function format(scenario: BalanceScenario, r: MakespanFloorReport): string {
  const first = r.seeds[0]!;
  const last = r.seeds[r.seeds.length - 1]!;
  return [
    `scenario ${scenario.name}, seeds ${first}–${last}: makespan / ideal I ` +
      `(mean ideal ${r.meanIdealSec.toFixed(1)} s)`,
    '  reference   ' +
      ['mean', 'E[M]/E[I]', 'p10', 'median', 'p90', `≤ ${r.goal.toFixed(2)}×`]
        .map((h) => h.padStart(WIDTH))
        .join(''),
    row('pooled PS', r.pooledPs),
    row('pooled list', r.pooledList),
  ].join('\n');
}

export function registerMakespanFloorCommand(program: Command): void {
  program
    .command('makespan-floor')
    .description(
      "how near the ideal makespan a scenario's workloads can be run without knowing the job " +
        'lengths: the pooled fair-share machine and the pooled machine serving the longest-served ' +
        'jobs first (the least expected makespan for Pareto lengths), over many seeds',
    )
    .option(
      '--scenario <name>',
      `a named scenario, or 'all' (${BALANCE_SCENARIOS.map((s) => s.name).join(', ')})`,
      'uniform-one-home',
    )
    .option('--seeds <n>', 'number of seeds (default 200)', integer(1), 200)
    .option('--first-seed <s>', 'the first seed (default 1)', integer(0), 1)
    .option(
      '--max-work-factor <k>',
      "no job longer than k × the mean work (default: the scenario's, " +
        `${DEFAULT_BALANCE_SIM_OPTIONS.maxWorkFactor})`,
      positive,
    )
    .option('--json', 'print the report(s) as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 unexpected failure, 2 bad arguments.\n' +
        'Example: npm run sim -- makespan-floor --scenario uniform-one-home --seeds 200',
    )
    .action((flags: FloorFlags) => {
      const scenarios = selectScenarios(flags.scenario);
      if (scenarios === undefined) {
        console.error(`osmo-sim: ${unknownScenario(flags.scenario)}`);
        process.exit(EXIT_USAGE);
      }
      const resolved = scenarios.map((s) => ({
        scenario: s,
        options: {
          ...DEFAULT_BALANCE_SIM_OPTIONS,
          ...s.options,
          ...(flags.maxWorkFactor !== undefined && { maxWorkFactor: flags.maxWorkFactor }),
        },
      }));
      // As osmo-sim balance: every problem, one line each, exit 2.
      const problems = resolved.flatMap(({ scenario, options }) =>
        validateOptions(options).map((p) => `${scenario.name}: ${p}`),
      );
      if (problems.length > 0) {
        for (const p of problems) console.error(`osmo-sim: ${p}`);
        process.exit(EXIT_USAGE);
      }
      const seeds = Array.from({ length: flags.seeds }, (_, i) => flags.firstSeed + i);
      const reports = resolved.map(({ scenario, options }) => ({
        scenario: scenario.name,
        ...makespanFloor(options, seeds),
      }));
      if (flags.json) {
        console.log(JSON.stringify(flags.scenario === 'all' ? reports : reports[0], null, 2));
        return;
      }
      console.log(reports.map((r, i) => format(scenarios[i]!, r)).join('\n\n'));
    });
}
