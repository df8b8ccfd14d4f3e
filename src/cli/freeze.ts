/** `osmo freeze PID` [MOSIX: mosmigrate PID freeze]: image to disk, memory freed, process stopped. */
import type { Command } from 'commander';
import { PROCESS_EXIT_HELP, printImage, withProcess } from './checkpoint.js';

export function registerFreeze(program: Command): void {
  program
    .command('freeze')
    .description('stop a process and move its image to disk, freeing its memory')
    .argument('<PID>', 'the process (see osmo ps)')
    .option('--json', 'print {file, bytes, ms} as JSON instead of the file name')
    .addHelpText(
      'after',
      `
Prints the image file. The process shows as "frozen" in osmo ps until \`osmo continue PID\`.
If the image cannot be written (e.g. disk full) the process keeps running. Like
\`mosmigrate PID freeze\`.
${PROCESS_EXIT_HELP}`,
    )
    .action(async (pid: string, opts: { json?: boolean }) => {
      await withProcess(pid, async (client) => {
        printImage(await client.freeze(), opts.json);
      });
    });
}
