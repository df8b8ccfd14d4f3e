/**
 * `osmo demo`: the project's main job on one machine — a 4-node cluster, programs started at one
 * node, the balancer spreading them out and bringing back the ones that turn to reading home's
 * files, and the makespan against the same jobs without migration. The work is in demo/run.ts,
 * loaded only when the command runs.
 */
import type { Command } from 'commander';
import { warn } from './report.js';
import { ExitCode } from './exit-codes.js';

const HELP = `
What it does:
  1. makes a private directory (removed at the end), a cluster secret and free ports on 127.0.0.1
  2. confines the nodes' CPU when it can (root and cgroup v1 at /sys/fs/cgroup/cpu):
     n1, n2, n3 get 0.5 CPU and speed 5000, n4 0.25 CPU and speed 2500; otherwise they run
     unconfined (speeds 10000, 10000, 10000, 5000) on this machine's shared cores, and says so
  3. starts 4 node daemons n1..n4 (real \`osmo daemon\` processes) and waits until n1 sees all
  4. starts the jobs — the bundled programs primes, mandel, nbody, lookup in turn — at home on
     n1 (\`osmo run -h\`); the balancer moves them while they run. lookup computes a table,
     then reads it back at random from n1's disk: away, each read is a round trip to n1, and
     the balancer brings it home (reason "home")
  5. shows where every job runs: a live screen on a terminal; otherwise a line per event
     ("t=3.2s job 4 (primes) n1 -> n3") and, each second it changed, a line with every node
  6. runs the same jobs again on a fresh set of nodes with the balancer off (the baseline)
  7. prints the summary: makespan with and without migration, their ratio, the ideal (the jobs'
     own CPU seconds over the nodes' CPUs), the migrations seen and where each job ran
A default run takes about a minute on a 2-core machine. docs/demo.md explains the figures.

Ctrl-C (or SIGTERM) stops it: every process it started is ended (jobs, then the nodes:
SIGTERM, SIGKILL after 3 s), the cgroups and the directory are removed. Killed outright
(SIGKILL), it cannot: its nodes then stop by themselves within a second (--stop-with-parent),
its jobs end with their programs, and the next demo removes the directory and the cgroups.

Exit status:
  0    the demo ran and every job exited 0
  1    a node or a job failed (one line on stderr names it), or the demo ran out of time
  2    bad invocation
  70   internal error in Osmosis
  129  stopped by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM`;

interface DemoFlags {
  jobs: string;
  scale: string;
  monitor: boolean;
  baseline: boolean;
  confine: boolean;
  keep?: boolean;
  json?: boolean;
  timeout: string;
}

function positive(text: string, option: string, integer: boolean, max: number): number | undefined {
  const n = Number(text);
  if (
    text.trim() === '' ||
    !Number.isFinite(n) ||
    n <= 0 ||
    n > max ||
    (integer && !Number.isInteger(n))
  ) {
    warn(
      `demo: ${option} ${text}: expected ${integer ? 'a whole number' : 'a number'} above 0, at most ${max}`,
    );
    return undefined;
  }
  return n;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run a 4-node cluster on this machine and watch programs started at one node spread out and come back',
    )
    .option('--jobs <n>', 'number of jobs', '8')
    .option('--scale <x>', 'work per job, × the default (about 1.2–1.8 s of CPU each)', '1')
    .option('--no-monitor', 'print only the summary')
    .option('--no-baseline', 'skip the run without migration (no speed-up figure)')
    .option('--no-confine', 'do not confine the nodes to CPU quotas, even when possible')
    .option('--keep', 'keep the state directory (logs, job outputs) and print its path')
    .option('--json', 'print the summary as JSON (with every pid started), nothing else on stdout')
    .option('--timeout <s>', 'give up (exit 1) when the demo takes longer, seconds', '300')
    .addHelpText('after', HELP)
    .action(async (opts: DemoFlags) => {
      const jobs = positive(opts.jobs, '--jobs', true, 64);
      const scale = positive(opts.scale, '--scale', false, 100);
      const timeout = positive(opts.timeout, '--timeout', false, 86_400);
      if (jobs === undefined || scale === undefined || timeout === undefined) {
        process.exitCode = ExitCode.USAGE;
        return;
      }
      const { runDemo } = await import('./demo/run.js');
      process.exitCode = await runDemo({
        jobs,
        scale,
        monitor: opts.monitor,
        baseline: opts.baseline,
        confine: opts.confine,
        keep: opts.keep === true,
        json: opts.json === true,
        timeoutMs: Math.round(timeout * 1000),
      });
    });
}
