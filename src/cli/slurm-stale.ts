/**
 * Holds of SLURM jobs that are over (docs/slurm.md). A node holds itself for a job from its
 * prolog to its epilog; a node that went down, or a daemon that was not answering, in between
 * never sees the epilog, and the hold — kept across restarts on purpose — would keep the node
 * closed to guests for good. Every `osmo slurm` hook therefore asks SLURM about the other jobs
 * holding its node and releases those that no longer run.
 */
import { spawnSync } from 'node:child_process';
import { isOsmoError } from '../core/errors.js';
import { requestOnce } from '../daemon/control-client.js';
import { warn } from './report.js';

/** What SLURM says of a job: its state, that it does not know it (purged), or nothing (no answer). */
export type JobLookup = { known: true; state: string } | { known: false } | undefined;

/** Job states in which a job still has its nodes (squeue's long names). */
const HOLDING_STATES = new Set([
  'RUNNING',
  'CONFIGURING',
  'COMPLETING',
  'SUSPENDED',
  'STOPPED',
  'SIGNALING',
  'STAGE_OUT',
  'RESIZING',
]);

const HOLD_PREFIX = 'slurm-job-';

export interface StaleHold {
  readonly id: string;
  /** Why it is over, for the log: "COMPLETED", or that SLURM no longer knows the job. */
  readonly why: string;
}

/**
 * The holds among `holds` of SLURM jobs other than `current` that SLURM says are over. A job SLURM
 * did not answer for is kept: releasing a node a running job holds is worse than waiting.
 */
export function staleHolds(
  holds: readonly string[],
  current: string,
  lookup: (jobId: string) => JobLookup,
): StaleHold[] {
  const stale: StaleHold[] = [];
  for (const id of holds) {
    if (id === current || !id.startsWith(HOLD_PREFIX)) continue;
    const found = lookup(id.slice(HOLD_PREFIX.length));
    if (found === undefined) continue;
    if (!found.known) stale.push({ id, why: 'SLURM no longer knows the job' });
    else if (!HOLDING_STATES.has(found.state)) stale.push({ id, why: `the job is ${found.state}` });
  }
  return stale;
}

/** Asks squeue for job `jobId`'s state (within `timeoutMs`: a prolog must not hang on it). */
export function squeueLookup(
  env: NodeJS.ProcessEnv,
  timeoutMs = 5000,
): (jobId: string) => JobLookup {
  return (jobId) => {
    const r = spawnSync('squeue', ['-h', '-t', 'all', '-j', jobId, '-o', '%T'], {
      env,
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    if (r.error !== undefined) return undefined;
    if (r.status === 0) {
      const state = r.stdout.trim().split('\n')[0]?.trim() ?? '';
      // A job squeue no longer lists (purged after MinJobAge) prints nothing on some versions.
      return state === '' ? { known: false } : { known: true, state };
    }
    return /invalid job id/i.test(r.stderr) ? { known: false } : undefined;
  };
}

/**
 * Releases, on the node of daemon `socket`, the holds of SLURM jobs other than `current` that are
 * over; says each on stdout. Best effort: trouble is a warning, never the hook's failure, and
 * with `quietWithoutDaemon` a daemon that does not answer is not even that (an Osmosis job's hook
 * needs none).
 */
export async function releaseStaleHolds(
  socket: string,
  current: string,
  lookup: (jobId: string) => JobLookup,
  quietWithoutDaemon = false,
): Promise<void> {
  try {
    const status = await requestOnce(socket, 'admin', { action: 'status' });
    const holds = (status.reservations ?? []).map((r) => r.id);
    for (const { id, why } of staleHolds(holds, current, lookup)) {
      const released = await requestOnce(socket, 'admin', { action: 'release', id });
      if ((released.released ?? []).length > 0)
        process.stdout.write(
          `${released.node}: released ${id}: ${why} (its epilog never ran here)\n`,
        );
    }
  } catch (e) {
    if (quietWithoutDaemon && isOsmoError(e, 'E_NO_NODE')) return;
    warn(
      `could not look for holds of jobs that are over: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
