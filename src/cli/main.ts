/** The `osmo` command line: one file per subcommand, composed here. */
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { registerRun } from './run.js';
import { registerRestart } from './restart.js';
import { registerDaemon } from './daemon.js';
import { registerStatus } from './status.js';
import { registerMon } from './mon.js';
import { registerPs } from './ps.js';
import { registerCheckpoint } from './checkpoint.js';
import { registerFreeze } from './freeze.js';
import { registerContinue } from './continue.js';
import { registerRunner } from './runner.js';
import { registerMigrate } from './migrate.js';
import { registerDemo } from './demo.js';
import { registerCtl } from './ctl.js';
import { registerSlurm } from './slurm.js';
import { warn } from './report.js';

export function buildProgram(): Command {
  const program = new Command('osmo')
    .description('Osmosis: run WebAssembly programs on a cluster that feels like one computer')
    .version('0.1.0')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text) => warn(text.replace(/^error: /, '').trimEnd()) });
  registerRun(program);
  registerRestart(program);
  registerDaemon(program);
  registerStatus(program);
  registerMon(program);
  registerPs(program);
  registerCheckpoint(program);
  registerFreeze(program);
  registerContinue(program);
  registerMigrate(program);
  registerCtl(program);
  registerSlurm(program);
  registerDemo(program);
  registerRunner(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    cmd.configureOutput({
      outputError: (text) => warn(`${cmd.name()}: ${text.replace(/^error: /, '').trimEnd()}`),
    });
  }
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  // A command that nothing holds any more (no socket, timer or thread) while it still waits
  // would vanish with Node's status 13 and no word: say so, as the internal error it is.
  let finished = false;
  const stranded = (): void => {
    if (finished) return;
    process.stderr.write(
      'osmo: internal error: the command stopped before it finished (nothing left to wait for); please report it with the command line\n',
    );
    process.exit(ExitCode.INTERNAL);
  };
  process.on('beforeExit', stranded);
  try {
    await runCommand(argv);
  } finally {
    finished = true;
    process.off('beforeExit', stranded);
  }
}

async function runCommand(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version requests end with status 0; everything else is a usage error.
      process.exitCode = error.exitCode === 0 ? 0 : ExitCode.USAGE;
      return;
    }
    throw error;
  }
}
