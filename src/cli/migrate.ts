/** `osmo migrate PID NODE|home` [MOSIX: mosmigrate PID NODE | mosmigrate PID home]. */
import type { Command } from 'commander';
import { PROCESS_EXIT_HELP, withProcess } from './checkpoint.js';
import type { MigrateResult } from '../process-control/types.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('move a running process to another node, or back home')
    .argument('<PID>', 'the process (see osmo ps)')
    .argument('<NODE>', 'a node name from osmo status, or "home"')
    .option(
      '--json',
      'print {from, to, ms, imageBytes, transferMs} as JSON (transferMs: the image on the wire)',
    )
    .addHelpText(
      'after',
      `
The program stops at its next instruction boundary, its image moves to NODE and it goes on
there; its files, terminal, clocks, pid and exit status stay those of its home node. If NODE
refuses it (guest limit, memory, policy) or the move fails on the way, the process keeps
running where it was and this command says why. Needs a program started with --preemptible
(or a placement option such as -b or -r) and a daemon on this node. Like \`mosmigrate\`.
${PROCESS_EXIT_HELP}`,
    )
    .action(async (pid: string, node: string, opts: { json?: boolean }) => {
      await withProcess(pid, async (client) => {
        const moved = await client.migrate(node);
        if (opts.json === true) process.stdout.write(`${JSON.stringify(moved)}\n`);
        else process.stdout.write(`${pid}: ${describeMove(moved)}\n`);
      });
    });
}

/** One line for a move; a move to where the process already is moved nothing, and says so. */
export function describeMove(moved: MigrateResult): string {
  if (moved.from === moved.to)
    return `already ${moved.to === 'home' ? 'at home' : `on ${moved.to}`}, not moved`;
  const wire =
    moved.transferMs === undefined ? '' : `, ${Math.round(moved.transferMs)} ms on the wire`;
  return `${moved.from} → ${moved.to} in ${Math.round(moved.ms)} ms (${moved.imageBytes} bytes${wire})`;
}
