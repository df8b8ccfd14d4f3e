/** `osmo ps [--json]` [MOSIX: mosps]: this user's Osmosis processes on this node. */
import type { Command } from 'commander';
import { listProcesses } from '../process-control/discovery.js';
import type { ProcessInfo } from '../process-control/types.js';
import { pad, formatBytes } from './mon/format.js';
import { fail, warn } from './report.js';

const WIDTH = 80;

export function registerPs(program: Command): void {
  program
    .command('ps')
    .description('list your Osmosis processes on this node: state, where, CPU time, memory')
    .option('--json', 'print {processes: ProcessInfo[], unanswered: PID[]} as JSON')
    .addHelpText(
      'after',
      `
Columns: PID (of its osmo run: the number osmo checkpoint/freeze/continue take); STATE running,
frozen (image on disk, memory freed), checkpointing or migrating; WHERE the node it runs on;
SINCE how long it has run there (since it started or last moved); CPU time used on every node
(m:ss.s, or h:mm:ss); MEM its memory (0 while frozen); COMMAND.
A process that does not answer within 2 s is named on stderr and left out.

Exit status: 0 listed (also when there is none), 2 bad invocation or the socket directory is
not private (the message says how to fix it), 70 internal error.`,
    )
    .action(async (opts: { json?: boolean }) => {
      try {
        const unanswered: number[] = [];
        const processes = await listProcesses({
          onSkip: (pid, reason, detail) => {
            if (reason === 'timeout' || reason === 'error') {
              unanswered.push(pid);
              warn(`process ${pid} is not listed: ${detail}`);
            }
          },
        });
        unanswered.sort((a, b) => a - b);
        process.stdout.write(
          opts.json
            ? JSON.stringify({ processes, unanswered }, null, 2) + '\n'
            : renderPs(processes),
        );
      } catch (e) {
        process.exitCode = fail(e);
      }
    });
}

export function renderPs(processes: readonly ProcessInfo[], nowMs = Date.now()): string {
  const head = `${pad('PID', 7, true)} ${pad('STATE', 13)} ${pad('WHERE', 8)} ${pad('SINCE', 5, true)} ${pad('CPU', 8, true)} ${pad('MEM', 6, true)} `;
  const commandWidth = WIDTH - head.length;
  const row = (p: ProcessInfo): string =>
    `${pad(String(p.pid), 7, true)} ${pad(p.state, 13)} ${pad(p.where, 8)} ${pad(formatSince(p.since, nowMs), 5, true)} ${pad(formatCpu(p.cpuTimeMs), 8, true)} ${pad(formatBytes(p.memoryBytes), 6, true)} ${pad(formatCommand(p.command), commandWidth).trimEnd()}`;
  return [head + 'COMMAND', ...processes.map(row)].join('\n') + '\n';
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
