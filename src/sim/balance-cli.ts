/**
 * `osmo-sim balance`: the balancing policy against static placements at scale. Flags override a
 * scenario's options, which override the defaults.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { MAKESPAN_GOAL, formatReport, runBalanceExperiment } from './balance-report.js';
import type { BalanceReport } from './balance-report.js';
import { BALANCE_SCENARIOS, selectScenarios, unknownScenario } from './balance-scenarios.js';
import type { BalanceScenario } from './balance-scenarios.js';
import { POLICIES } from './balance-sim.js';
import type { PolicyName } from './balance-sim.js';
import { DEFAULT_BALANCE_SIM_OPTIONS, PENDING_MODES, validateOptions } from './balance-workload.js';
import type { BalanceSimOptions, PendingMode } from './balance-workload.js';
import { EXIT_CHECK_FAILED, EXIT_USAGE, fraction, integer, positive } from './cli-args.js';

function nonNegative(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && Number.isFinite(n))) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
}

function speeds(value: string): readonly number[] | 'mixed' {
  if (value === 'mixed') return 'mixed';
  const list = value.split(',').map(Number);
  if (list.some((s) => !(s > 0 && Number.isFinite(s)))) {
    throw new InvalidArgumentError("expected 'mixed' or a list of speeds > 0 like 10000,5000");
  }
  return list;
}

function pendingMode(value: string): PendingMode {
  if (!(PENDING_MODES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${PENDING_MODES.join(', ')}`);
  }
  return value as PendingMode;
}

function policies(value: string): PolicyName[] {
  const list = value.split(',');
  for (const p of list) {
    if (!(POLICIES as readonly string[]).includes(p)) {
      throw new InvalidArgumentError(`unknown policy '${p}' (known: ${POLICIES.join(', ')})`);
    }
  }
  return list as PolicyName[];
}

interface BalanceFlags {
  scenario?: string;
  nodes?: number;
  cpus?: number;
  speeds?: readonly number[] | 'mixed';
  memoryMb?: number;
  jobs?: number;
  paretoAlpha?: number;
  meanWork?: number;
  maxWorkFactor?: number;
  jobMemoryMb?: number;
  memoryPressure?: number;
  largeJobMemoryMb?: number;
  homes?: number;
  arrivalWindowS?: number;
  load?: number;
  ioJobs?: number;
  ioSyscalls?: number;
  intervalS?: number;
  gossipIntervalS?: number;
  gossipAgeS?: number;
  linkMbit?: number;
  partnerNodes?: number;
  partnerLinkMbit?: number;
  otherClusterLinkMbit?: number;
  fixedLinkCost?: boolean;
  moveGainFactor?: number;
  startConsent?: boolean;
  viewSize?: number;
  pendingMode?: PendingMode;
  seed?: number;
  policies?: PolicyName[];
  json?: boolean;
  check?: boolean;
}

function flagOptions(f: BalanceFlags): Partial<BalanceSimOptions> {
  const entries: [keyof BalanceSimOptions, unknown][] = [
    ['nodes', f.nodes],
    ['cpus', f.cpus],
    ['speeds', f.speeds],
    ['memoryMb', f.memoryMb],
    ['jobs', f.jobs],
    ['paretoAlpha', f.paretoAlpha],
    ['meanWorkSec', f.meanWork],
    ['maxWorkFactor', f.maxWorkFactor],
    ['jobMemoryMb', f.jobMemoryMb],
    ['memoryPressure', f.memoryPressure],
    ['largeJobMemoryMb', f.largeJobMemoryMb],
    ['homes', f.homes],
    ['arrivalWindowSec', f.arrivalWindowS],
    ['offeredLoad', f.load],
    ['ioJobs', f.ioJobs],
    ['ioSyscallsPerWorkSec', f.ioSyscalls],
    ['intervalSec', f.intervalS],
    ['gossipIntervalSec', f.gossipIntervalS],
    ['gossipMeanAgeSec', f.gossipAgeS],
    ['linkMbit', f.linkMbit],
    ['partnerNodes', f.partnerNodes],
    ['partnerLinkMbit', f.partnerLinkMbit],
    ['otherClusterLinkMbit', f.otherClusterLinkMbit],
    ['measuredLinks', f.fixedLinkCost === true ? false : undefined],
    ['moveGainFactor', f.moveGainFactor],
    ['startConsent', f.startConsent === false ? false : undefined],
    ['viewSize', f.viewSize],
    ['pendingMode', f.pendingMode],
    ['seed', f.seed],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}

function resolve(scenario: BalanceScenario | undefined, flags: BalanceFlags): BalanceSimOptions {
  const fromFlags = flagOptions(flags);
  const merged = { ...DEFAULT_BALANCE_SIM_OPTIONS, ...scenario?.options, ...fromFlags };
  // An explicit window replaces a scenario's offered load, and the other way round.
  if (fromFlags.arrivalWindowSec !== undefined && fromFlags.offeredLoad === undefined) {
    delete (merged as { offeredLoad?: number }).offeredLoad;
  }
  return merged;
}

const d = DEFAULT_BALANCE_SIM_OPTIONS;

export function registerBalanceCommand(program: Command): void {
  program
    .command('balance')
    .description(
      'simulate the automatic migration policy (decideMoves) against static placements: ' +
        'makespan, slowdown, migrations, bounces, memory pressure',
    )
    .option(
      '--scenario <name>',
      `a named scenario, or 'all' (${BALANCE_SCENARIOS.map((s) => s.name).join(', ')})`,
    )
    .option('-n, --nodes <n>', `number of nodes (default ${d.nodes})`, integer(2))
    .option('--cpus <n>', `CPUs per node (default ${d.cpus})`, integer(1))
    .option(
      '--speeds <list|mixed>',
      "per-CPU speeds cycled over the nodes, or 'mixed' (a third each at 5000/10000/20000) " +
        '(default 10000)',
      speeds,
    )
    .option('--memory-mb <mb>', `memory per node (default ${d.memoryMb})`, positive)
    .option('-j, --jobs <m>', `number of jobs (default ${d.jobs})`, integer(1))
    .option('--pareto-alpha <a>', `Pareto shape of the work (default ${d.paretoAlpha})`, positive)
    .option(
      '--mean-work <s>',
      `mean work per job, reference-CPU seconds (default ${d.meanWorkSec})`,
      positive,
    )
    .option(
      '--max-work-factor <k>',
      `no job longer than k × the mean work (default ${d.maxWorkFactor})`,
      positive,
    )
    .option('--job-memory-mb <mb>', `memory per job (default ${d.jobMemoryMb})`, positive)
    .option(
      '--memory-pressure <fraction>',
      `fraction of jobs that need --large-job-memory-mb (default ${d.memoryPressure})`,
      fraction,
    )
    .option(
      '--large-job-memory-mb <mb>',
      `memory of a large job (default ${d.largeJobMemoryMb})`,
      positive,
    )
    .option(
      '--homes <h>',
      `jobs start at random among the first h nodes (default ${d.homes})`,
      integer(1),
    )
    .option(
      '--arrival-window-s <s>',
      'Poisson arrivals over this window; 0 = all at t=0 (default 0)',
      nonNegative,
    )
    .option(
      '--load <fraction>',
      'Poisson arrivals over the window that offers this load (mean work × jobs / capacity)',
      positive,
    )
    .option('--io-jobs <fraction>', `fraction of I/O jobs (default ${d.ioJobs})`, fraction)
    .option(
      '--io-syscalls <n>',
      `system calls of an I/O job per reference-CPU second of work (default ${d.ioSyscallsPerWorkSec})`,
      nonNegative,
    )
    .option('--interval-s <s>', `balancing interval (default ${d.intervalSec})`, positive)
    .option('--gossip-interval-s <s>', `gossip interval (default ${d.gossipIntervalSec})`, positive)
    .option(
      '--gossip-age-s <s>',
      `mean age of a gossip entry, ≥ half the interval (default ${d.gossipMeanAgeSec})`,
      positive,
    )
    .option('--link-mbit <mbit>', `link speed for moving images (default ${d.linkMbit})`, positive)
    .option(
      '--partner-nodes <k>',
      'the last k nodes are a partner cluster behind a slower link (default 0)',
      integer(0),
    )
    .option(
      '--partner-link-mbit <mbit>',
      `the partner cluster's link (default ${d.partnerLinkMbit})`,
      positive,
    )
    .option(
      '--other-cluster-link-mbit <mbit>',
      "the partner cluster's link as Osmosis assumes it until a move measured it (the daemon's " +
        `otherClusterLinkMbit); 0 = as its own cluster's (default ${d.otherClusterLinkMbit})`,
      nonNegative,
    )
    .option(
      '--fixed-link-cost',
      "Osmosis charges every move at the daemon's default 800 Mbit instead of the links its " +
        'moves measured (as before it measured them)',
    )
    .option(
      '--move-gain-factor <k>',
      'Osmosis moves a job for load or speed only when it expects to finish sooner by k times ' +
        `the move's time on the link; 0 = whenever it pays at all (default ${d.moveGainFactor})`,
      nonNegative,
    )
    .option(
      '--no-start-consent',
      'every start is taken by the node chosen, even when more run there than its home counted ' +
        'on (as before starts asked for consent)',
    )
    .option(
      '--view-size <k>',
      'nodes a home considers per decision, itself included; 0 = all (default 0)',
      integer(0),
    )
    .option(
      '--pending-mode <mode>',
      "moves passed to decideMoves as pending: 'window' (last two gossip intervals or in flight; " +
        "the default), 'unseen' (views corrected for what their sample already shows), 'none'",
      pendingMode,
    )
    .option('-s, --seed <seed>', `random seed (default ${d.seed})`, integer(0))
    .option('--policies <list>', `policies to run (default all: ${POLICIES.join(',')})`, policies)
    .option('--json', 'print the report(s) as JSON')
    .option(
      '--check',
      `exit ${EXIT_CHECK_FAILED} unless Osmosis's makespan ≤ ${MAKESPAN_GOAL} × ideal and its mean ` +
        'slowdown is below every static policy (and no bounces where a scenario requires it)',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 unexpected failure, 2 bad arguments, 3 --check failed.\n' +
        'Example: npm run sim -- balance --scenario all --seed 1',
    )
    .action((flags: BalanceFlags) => {
      let scenarios: readonly (BalanceScenario | undefined)[] = [undefined];
      if (flags.scenario !== undefined) {
        const chosen = selectScenarios(flags.scenario);
        if (chosen === undefined) {
          console.error(`osmo-sim: ${unknownScenario(flags.scenario)}`);
          process.exit(EXIT_USAGE);
        }
        scenarios = chosen;
      }
      const resolved = scenarios.map((s) => ({ scenario: s, options: resolve(s, flags) }));
      const problems = resolved.flatMap(({ scenario, options }) =>
        validateOptions(options).map((p) => (scenario ? `${scenario.name}: ${p}` : p)),
      );
      if (problems.length > 0) {
        for (const p of problems) console.error(`osmo-sim: ${p}`);
        process.exit(EXIT_USAGE);
      }
      const reports: BalanceReport[] = [];
      for (const { scenario, options } of resolved) {
        const report = runBalanceExperiment(options, () => performance.now(), {
          ...(scenario !== undefined && {
            scenario: scenario.name,
            description: scenario.description,
            goals: scenario.goals,
          }),
          ...(flags.policies !== undefined && { policies: flags.policies }),
        });
        reports.push(report);
        if (!flags.json) console.log(`${formatReport(report)}\n`);
      }
      if (flags.json) {
        console.log(JSON.stringify(flags.scenario === 'all' ? reports : reports[0], null, 2));
      }
      if (flags.check && reports.some((r) => !r.check.passed)) process.exit(EXIT_CHECK_FAILED);
    });
}
