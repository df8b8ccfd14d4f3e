/**
 * `osmo slurm prolog|epilog`: SLURM's Prolog and Epilog on a node that runs both slurmd and an
 * Osmosis daemon (seed 000, III-G). SLURM queues the jobs; Osmosis spreads the tasks of an Osmosis
 * job (one in an Osmosis partition) over every node with room, those SLURM did not give the job
 * included. A node SLURM gives any other job is reserved for it while the job runs: its guests
 * leave before the job starts and none come until its epilog.
 *
 * slurmd drains a node whose prolog fails and requeues the job, so trouble on Osmosis's side
 * (no daemon, a guest that would not leave) is only reported unless --strict.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { requestOnce } from '../daemon/control-client.js';
import type { AdminResult } from '../daemon/control-protocol.js';
import { requireDaemonSocket } from '../daemon/socket-path.js';
import { OsmoError, isOsmoError } from '../core/errors.js';
import { DEFAULT_WAIT_SECONDS, parseSeconds, renderAdmin } from './ctl.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { fail, warn } from './report.js';
import { DAEMON_OPTION_HELP } from './status.js';
import { releaseStaleHolds, squeueLookup } from './slurm-stale.js';

const DEFAULT_PARTITIONS = ['osmosis'];
/** A job number, or an array job's NUMBER_INDEX. */
export const SLURM_JOB_ID = /^[0-9]+(_[0-9]+)?$/;

export type SlurmHook = 'prolog' | 'epilog';

/** What slurmd tells its prolog and epilog of the job, through the environment. */
export interface SlurmJob {
  readonly id: string;
  /** Absent when slurmd did not say (then the job is not taken for an Osmosis job). */
  readonly partition?: string;
}

/** The job slurmd runs the hook for; refused when not run by slurmd. */
export function slurmJobOf(env: NodeJS.ProcessEnv): SlurmJob {
  const id = env.SLURM_JOB_ID ?? env.SLURM_JOBID;
  if (id === undefined || !SLURM_JOB_ID.test(id)) {
    throw new OsmoError(
      'E_USAGE',
      id === undefined
        ? 'no SLURM_JOB_ID in the environment: osmo slurm runs as slurm.conf’s Prolog and Epilog, started by slurmd (see docs/slurm.md)'
        : `SLURM_JOB_ID ${JSON.stringify(id)} is not a job number`,
    );
  }
  const partition = env.SLURM_JOB_PARTITION;
  return { id, ...(partition === undefined || partition === '' ? {} : { partition }) };
}

/** Whether Osmosis may move the job's tasks (and guests may share its nodes). */
export function isOsmosisJob(job: SlurmJob, partitions: readonly string[]): boolean {
  return job.partition !== undefined && partitions.includes(job.partition);
}

/** The hold a non-Osmosis job puts on its node. */
export function holdIdOf(job: SlurmJob): string {
  return `slurm-job-${job.id}`;
}

export function registerSlurm(program: Command): void {
  program
    .command('slurm')
    .description(
      "SLURM's Prolog/Epilog: reserve this node for a job that is not an Osmosis job, release it after",
    )
    .argument('<hook>', 'prolog or epilog', parseHook)
    .option(
      '--partitions <list>',
      `comma-separated partitions whose jobs are Osmosis jobs [default: ${DEFAULT_PARTITIONS.join(',')}]`,
      parseList,
    )
    .option(
      '--wait <seconds>',
      `prolog: how long to wait for the guests to leave [default: ${DEFAULT_WAIT_SECONDS}]`,
      parseSeconds,
    )
    .option('--strict', 'fail (slurmd then drains the node) when the node could not be reserved')
    .option('--daemon <path>', DAEMON_OPTION_HELP)
    .addHelpText(
      'after',
      `
In slurm.conf of every node that also runs an Osmosis daemon (as root, like slurmd):
  PrologFlags=Alloc                       # srun waits for a prolog that waits for guests
  Prolog=/etc/slurm/osmosis-prolog.sh     # exec osmo slurm prolog
  Epilog=/etc/slurm/osmosis-epilog.sh     # exec osmo slurm epilog

prolog  a job of an Osmosis partition: nothing to do (its tasks, "srun osmo run PROG", start here
        and Osmosis moves them wherever there is room). Any other job: the node is reserved
        for it (osmo ctl reserve slurm-job-ID): guests asked to leave, waited for up to --wait
        seconds, and no new ones until the epilog; gossiped, so homes stop choosing it.
epilog  releases that hold (nothing for an Osmosis job); the node takes guests again once no
        job holds it. When an Osmosis job ends, SLURM ends its tasks' osmo run, and their
        programs, wherever they run, end with them.
Both    also release the holds of other SLURM jobs that squeue says are over (or no longer
        knows): a node that was down, or whose daemon did not answer, at a job's epilog.

Exit status: 0 done, or Osmosis could not do its part (said on stderr: without --strict a
missing daemon never drains a node); with --strict 1 when guests stayed and 69 when no daemon
answered; 2 not run by slurmd (no SLURM_JOB_ID) or bad option. Setting up: docs/slurm.md.`,
    )
    .action(
      async (
        hook: SlurmHook,
        opts: { partitions?: string[]; wait?: number; strict?: boolean; daemon?: string },
      ) => {
        let job: SlurmJob;
        try {
          job = slurmJobOf(process.env);
        } catch (e) {
          process.exitCode = fail(e);
          return;
        }
        const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
        const strict = opts.strict === true;
        if (isOsmosisJob(job, partitions)) {
          process.stdout.write(
            `job ${job.id} (partition ${job.partition ?? '?'}) is an Osmosis job: this node stays open to guests\n`,
          );
          await releaseStaleIfDaemon(opts.daemon, job);
          return;
        }
        const waitMs = (opts.wait ?? DEFAULT_WAIT_SECONDS) * 1000;
        try {
          const socket = requireDaemonSocket(opts.daemon, process.env);
          const result: AdminResult = await requestOnce(
            socket,
            'admin',
            { action: hook === 'prolog' ? 'reserve' : 'release', id: holdIdOf(job), waitMs },
            waitMs + 15_000,
          );
          const { text, complete } = renderAdmin(result);
          process.stdout.write(text);
          // A release that found no hold is fine: the prolog may have had no daemon to ask.
          if (hook === 'prolog' && !complete) {
            warn(`job ${job.id} starts with guests still on ${result.node}`);
            if (strict) process.exitCode = 1;
          }
          await releaseStaleHolds(socket, holdIdOf(job), squeueLookup(process.env));
        } catch (e) {
          const what =
            hook === 'prolog'
              ? `job ${job.id} runs with this node open to guests`
              : `job ${job.id}'s hold on this node is not released`;
          warn(`${isOsmoError(e) ? e.message : String(e)}; ${what}`);
          if (strict) process.exitCode = isOsmoError(e) ? exitCodeFor(e.code) : ExitCode.INTERNAL;
        }
      },
    );
}

/** For an Osmosis job's hook, which needs no daemon otherwise: only when one answers. */
async function releaseStaleIfDaemon(daemon: string | undefined, job: SlurmJob): Promise<void> {
  let socket: string;
  try {
    socket = requireDaemonSocket(daemon, process.env);
  } catch {
    return;
  }
  await releaseStaleHolds(socket, holdIdOf(job), squeueLookup(process.env), true);
}

function parseHook(value: string): SlurmHook {
  if (value !== 'prolog' && value !== 'epilog')
    throw new InvalidArgumentError('use prolog or epilog.');
  return value;
}

function parseList(value: string): string[] {
  const list = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (list.length === 0) throw new InvalidArgumentError('give at least one partition.');
  return list;
}
