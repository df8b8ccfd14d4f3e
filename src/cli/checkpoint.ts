/**
 * `osmo checkpoint PID [-o FILE]` [MOSIX: mosmigrate PID checkpoint]: the process writes an image
 * and goes on. Also home of what the per-process commands (checkpoint, freeze, continue) share:
 * PID parsing, exit statuses, and one connection per command.
 */
import type { Command } from 'commander';
import { isOsmoError, OsmoError } from '../core/errors.js';
import { connectProcess } from '../process-control/discovery.js';
import { isPidStopped } from '../process-control/pid-alive.js';
import type { ProcessControlClient } from '../process-control/client.js';
import type { ImageResult } from '../process-control/types.js';
import { ExitCode } from './exit-codes.js';
import { fail, warn } from './report.js';

/** Exit status 1: the process is there but could not do it (it says why, and goes on). */
export const EXIT_REFUSED = 1;

export const PROCESS_EXIT_HELP = `
Exit status:
  0   done
  1   the process could not do it (the reason is on stderr: e.g. not frozen, already frozen,
      disk full, stopped by Ctrl-Z); it goes on as it was
  2   bad invocation, or the socket directory is not private (owned by another user, or
      group/other permissions): fix it as the message says
  3   no Osmosis process with that PID of yours on this node (osmo ps lists them)
  70  internal error in Osmosis`;

export function parsePid(text: string): number {
  const pid = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(pid)) {
    throw new OsmoError('E_USAGE', `PID must be a positive integer (got "${text}")`);
  }
  return pid;
}

/**
 * Connects to PID, runs `action`, and sets the exit status. Failures before the process is
 * reached are ours (usage 2, no process 3); failures the process reports are its refusal (1).
 */
export async function withProcess(
  pidText: string,
  action: (client: ProcessControlClient) => Promise<void>,
): Promise<void> {
  let client: ProcessControlClient;
  try {
    client = await connectProcess(parsePid(pidText));
  } catch (e) {
    process.exitCode = fail(e);
    return;
  }
  // A stopped process accepts the connection (its kernel does) but would never answer.
  if (isPidStopped(client.pid)) {
    client.close();
    warn(
      `process ${client.pid} is stopped (Ctrl-Z or SIGSTOP) and cannot act: continue it first (fg, or kill -CONT ${client.pid})`,
    );
    process.exitCode = EXIT_REFUSED;
    return;
  }
  try {
    await action(client);
  } catch (e) {
    if (isOsmoError(e) && e.code !== 'E_INTERNAL') {
      warn(e.message);
      process.exitCode = e.code === 'E_NO_PROCESS' ? ExitCode.NO_PROCESS : EXIT_REFUSED;
    } else {
      process.exitCode = fail(e);
    }
  } finally {
    client.close();
  }
}

/** The image file on stdout (for `F=$(osmo checkpoint PID)`), or the whole result as JSON. */
export function printImage(result: ImageResult, json: boolean | undefined): void {
  process.stdout.write(json ? JSON.stringify(result, null, 2) + '\n' : result.file + '\n');
}

export function registerCheckpoint(program: Command): void {
  program
    .command('checkpoint')
    .description('write an image of a running process to disk; the process goes on')
    .argument('<PID>', 'the process (see osmo ps)')
    .option(
      '-o, --output <FILE>',
      "image file (relative to this directory) [default: the process's checkpoint file]",
    )
    .option('--json', 'print {file, bytes, ms} as JSON instead of the file name')
    .addHelpText(
      'after',
      `
Prints the image file; \`osmo restart FILE\` resumes from it. Like \`mosmigrate PID checkpoint\`.
A frozen process stays frozen: its checkpoint is a copy of its frozen image.
${PROCESS_EXIT_HELP}`,
    )
    .action(async (pid: string, opts: { output?: string; json?: boolean }) => {
      await withProcess(pid, async (client) => {
        printImage(await client.checkpoint(opts.output), opts.json);
      });
    });
}
