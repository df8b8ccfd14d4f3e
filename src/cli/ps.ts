/**
 * `osmo ps [--json] [--local]` [MOSIX: mosps]: this user's Osmosis processes — those started
 * here (found through their control sockets, daemon or not) and, when a daemon runs, those
 * started at every other live node's home.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { requestOnce } from '../daemon/control-client.js';
import { PEER_PROCESSES_TIMEOUT_MS } from '../daemon/cluster-processes.js';
import { resolveDaemonSocket } from '../daemon/socket-path.js';
import { listProcesses } from '../process-control/discovery.js';
import type { ProcessInfo } from '../process-control/types.js';
import type { ProcessesResult } from '../daemon/control-protocol.js';
import { pad, formatBytes } from './mon/format.js';
import { fail, warn } from './report.js';
import { DAEMON_OPTION_HELP } from './status.js';

const WIDTH = 80;

export function registerPs(program: Command): void {
  program
    .command('ps')
    .description(
      'list your Osmosis processes: started here, and at every other home of the cluster',
    )
    .option(
      '--json',
      'print {processes: ProcessInfo[], unanswered: PID[], unansweredNodes: string[]} as JSON',
    )
    .option('--local', 'only the processes started on this node (the daemon is not asked)')
    .option('-J, --job <ID>', 'only the processes of this job (osmo run -J; slurm-job-N)')
    .option('--daemon <path>', DAEMON_OPTION_HELP)
    .addHelpText(
      'after',
      `
Columns: PID (of its osmo run on its home: the number osmo checkpoint/freeze/continue/migrate
take there); HOME the node it was started on (its deputy's node; "local" without a daemon);
STATE starting (its program being prepared for preemption: seconds the first time a program
runs), running, frozen (image on disk, memory freed), checkpointing, migrating or stopped
(its osmo run stopped by Ctrl-Z or SIGSTOP; a program away is held where it runs); WHERE the node
it runs on; SINCE how long it has run there (since it started or last moved); CPU time used on
every node (m:ss.s, or h:mm:ss); MEM its memory (0 while frozen); JOB, when any process has
one, the job it belongs to (osmo run -J; a task SLURM started: slurm-job-N; the table is
then up to 15 columns wider than 80); COMMAND.
Processes of other homes come from their home daemons (as of their last reading, at most one
balancing interval old); a user is the same user on every node by uid, as in MOSIX. A process
that does not answer within 2 s, or a node within ${PEER_PROCESSES_TIMEOUT_MS / 1000} s, is named on stderr and left out.
Without a daemon (or with --local) only the processes started on this node are listed.

Exit status: 0 listed (also when there is none), 2 bad invocation or the socket directory is
not private (the message says how to fix it), 70 internal error.`,
    )
    .action(async (opts: { json?: boolean; local?: boolean; job?: string; daemon?: string }) => {
      try {
        const unanswered: number[] = [];
        const stopped: number[] = [];
        const here = await listProcesses({
          onSkip: (pid, reason, detail) => {
            if (reason === 'stopped') stopped.push(pid);
            if (reason === 'timeout' || reason === 'error') {
              unanswered.push(pid);
              warn(`process ${pid} is not listed: ${detail}`);
            }
          },
        });
        unanswered.sort((a, b) => a - b);
        const elsewhere = opts.local === true ? undefined : await otherHomes(opts.daemon);
        for (const node of elsewhere?.unanswered ?? []) {
          warn(`node ${node} did not answer: the processes started there are not listed`);
        }
        const processes = markStopped(
          mergeProcesses(here, elsewhere?.processes ?? []),
          stopped,
          elsewhere?.node,
        );
        for (const pid of stopped.sort((a, b) => a - b)) {
          if (!processes.some((p) => p.pid === pid && p.state === 'stopped')) {
            warn(
              `process ${pid} is stopped (Ctrl-Z or SIGSTOP) and not listed: fg, or kill -CONT ${pid}, continues it`,
            );
          }
        }
        const shown = processes.filter((p) => opts.job === undefined || p.job === opts.job);
        process.stdout.write(
          opts.json
            ? JSON.stringify(
                { processes: shown, unanswered, unansweredNodes: elsewhere?.unanswered ?? [] },
                null,
                2,
              ) + '\n'
            : renderPs(shown),
        );
      } catch (e) {
        process.exitCode = fail(e);
      }
    });
}

/**
 * This user's processes at every home, from the local daemon; undefined when no daemon runs here
 * (ps then lists this node's alone, as without a cluster). A daemon that fails is said on stderr.
 */
async function otherHomes(daemonOption: string | undefined): Promise<ProcessesResult | undefined> {
  const socket = resolveDaemonSocket(daemonOption, process.env);
  if (socket === undefined) return undefined;
  const named = daemonOption !== undefined || process.env.OSMOSIS_DAEMON !== undefined;
  if (!named && !existsSync(socket)) return undefined;
  try {
    return await requestOnce(
      socket,
      'processes',
      { cluster: true, ...(process.getuid !== undefined && { uid: process.getuid() }) },
      PEER_PROCESSES_TIMEOUT_MS + 2_000,
    );
  } catch (e) {
    warn(`only this node's processes are listed: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/**
 * The processes found here (fresh: asked just now) first, then those of other homes the daemons
 * know, each (home, pid) once: a program started here is also in its home daemon's answer.
 */
export function mergeProcesses(
  here: readonly ProcessInfo[],
  elsewhere: readonly ProcessInfo[],
): ProcessInfo[] {
  const key = (p: ProcessInfo): string => `${p.home}\u0000${p.pid}`;
  const seen = new Set(here.map(key));
  const others = elsewhere
    .filter((p) => !seen.has(key(p)))
    .sort((a, b) => (a.home === b.home ? a.pid - b.pid : a.home < b.home ? -1 : 1));
  return [...here, ...others];
}

/**
 * A stopped `osmo run` cannot answer: its row is its home daemon's last reading (this node is
 * `homeNode`), shown as stopped. Without a daemon there is no row to show.
 */
export function markStopped(
  processes: readonly ProcessInfo[],
  stopped: readonly number[],
  homeNode: string | undefined,
): ProcessInfo[] {
  return processes.map((p) =>
    p.home === homeNode && stopped.includes(p.pid) ? { ...p, state: 'stopped' } : p,
  );
}

export function renderPs(processes: readonly ProcessInfo[], nowMs = Date.now()): string {
  // Node names past 6 characters end in "…" (80 columns leave the command 22). A JOB column
  // (osmo run -J, a SLURM task's job) comes only when some process has a job and widens the
  // table by up to 15 columns: the command keeps its 22.
  const withJob = processes.some((p) => p.job !== undefined);
  const jobWidth = Math.min(14, Math.max(3, ...processes.map((p) => p.job?.length ?? 1)));
  const jobCell = (text: string): string => (withJob ? `${pad(text, jobWidth)} ` : '');
  const head = `${pad('PID', 7, true)} ${pad('HOME', 6)} ${pad('STATE', 13)} ${pad('WHERE', 6)} ${pad('SINCE', 5, true)} ${pad('CPU', 8, true)} ${pad('MEM', 6, true)} `;
  const commandWidth = WIDTH - head.length;
  const row = (p: ProcessInfo): string =>
    `${pad(String(p.pid), 7, true)} ${pad(p.home, 6)} ${pad(p.state, 13)} ${pad(p.where, 6)} ${pad(formatSince(p.since, nowMs), 5, true)} ${pad(formatCpu(p.cpuTimeMs), 8, true)} ${pad(formatBytes(p.memoryBytes), 6, true)} ${jobCell(p.job ?? '-')}${pad(formatCommand(p.command), commandWidth).trimEnd()}`;
  return [head + jobCell('JOB') + 'COMMAND', ...processes.map(row)].join('\n') + '\n';
}

/** How long it has been where it runs: 42s, 3m05, 2h07 ("-" when the process does not say). */
export function formatSince(since: string | undefined, nowMs: number): string {
  const at = since === undefined ? NaN : Date.parse(since);
  if (Number.isNaN(at)) return '-';
  const s = Math.max(0, Math.floor((nowMs - at) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}`;
}

/** m:ss.s under an hour, else h:mm:ss (like ps's TIME, with tenths for short runs). */
export function formatCpu(ms: number): string {
  // Round once, to tenths, so 59.96 s reads 1:00.0 and never 0:60.0.
  const tenths = Math.round(ms / 100);
  if (tenths < 36_000) {
    const m = Math.floor(tenths / 600);
    return `${m}:${((tenths - m * 600) / 10).toFixed(1).padStart(4, '0')}`;
  }
  const s = Math.floor(tenths / 10);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Shell-quoted so arguments with spaces read right; control characters never reach the tty. */
export function formatCommand(command: readonly string[]): string {
  return (
    command
      .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
      .join(' ')
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\x00-\x1f\x7f]/g, '?')
  );
}
