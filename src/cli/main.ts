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

/** Each subcommand by name, in the order `osmo --help` lists them. */
const SUBCOMMANDS: Readonly<Record<string, (program: Command) => void>> = {
  run: registerRun,
  restart: registerRestart,
  daemon: registerDaemon,
  status: registerStatus,
  mon: registerMon,
  ps: registerPs,
  checkpoint: registerCheckpoint,
  freeze: registerFreeze,
  continue: registerContinue,
  migrate: registerMigrate,
  ctl: registerCtl,
  slurm: registerSlurm,
  demo: registerDemo,
  runner: registerRunner,
};

/**
 * The command line for `argv`. A known subcommand is the only one defined: declaring all of
 * them with their options and help costs a warm `osmo run` several ms, and it parses the same.
 * Anything else (no subcommand, `help`, a typo, `--version`) gets them all, so help lists them
 * and a typo is answered with the nearest.
 */
export function buildProgram(argv: readonly string[] = []): Command {
  const program = new Command('osmo')
    .description('Osmosis: run WebAssembly programs on a cluster that feels like one computer')
    .version('0.1.0')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text) => warn(text.replace(/^error: /, '').trimEnd()) });
  const named = argv[0] !== undefined && Object.hasOwn(SUBCOMMANDS, argv[0]);
  for (const register of named ? [SUBCOMMANDS[argv[0]!]!] : Object.values(SUBCOMMANDS)) {
    register(program);
  }
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
  const program = buildProgram(argv);
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
