/** `osmo continue PID` [MOSIX: mosmigrate PID continue]: a frozen process resumes. */
import type { Command } from 'commander';
import { PROCESS_EXIT_HELP, withProcess } from './checkpoint.js';

export function registerContinue(program: Command): void {
  program
    .command('continue')
    .description('resume a frozen process (see osmo freeze)')
    .argument('<PID>', 'the process (see osmo ps)')
    .addHelpText(
      'after',
      `
Reads the image back into memory and resumes the program where it stopped. Prints nothing.
Like \`mosmigrate PID continue\`.
${PROCESS_EXIT_HELP}`,
    )
    .action(async (pid: string) => {
      await withProcess(pid, (client) => client.continue());
    });
}
