/**
 * `osmo restart FILE [--force]` [mosrun -R]: resumes a program from a checkpoint or freeze image
 * in a new deputy. Files are reopened by path at their offsets and output continues where it
 * stopped; when the state cannot be restored faithfully (a file gone or shrunk; stdin was a pipe)
 * it refuses, naming the fd, unless --force.
 */
import type { Command } from 'commander';
import { fromBase64 } from '../core/base64.js';
import { OsmoError } from '../core/errors.js';
import { HostBackend } from '../deputy/host-backend.js';
import { loadProgram } from '../runtime/load-program.js';
import { snapshotCode } from '../snapshot/load.js';
import { Filetype } from '../wasi/abi.js';
import type { DeputyImageState } from './deputy-session.js';
import { DeputySession, imageDir } from './deputy-session.js';
import { MAILBOX_DIR, MailboxFiles } from './mailbox-files.js';
import { PROC_SELF, ProcSelfFiles } from './proc-self.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { fail } from './report.js';
import { instrumentedProgram } from './run.js';
import {
  addPlacementOptions,
  mobilityOf,
  moveAfterRestore,
  jobOf,
  resolvePlacement,
  startNodeOf,
} from './placement.js';
import type { PlacementFlags } from './placement.js';
import { originsAfterImage } from '../runtime/guest-clocks.js';
import { holdSignals, serveEarly, supervise } from './supervise.js';
import type { EarlyControl, HeldSignals } from './supervise.js';

interface RestartOptions extends PlacementFlags {
  force?: boolean;
}

export function registerRestart(program: Command): void {
  const command = program
    .command('restart')
    .description('resume a program from a checkpoint or freeze image [mosrun -R]')
    .argument('<image>', 'an image written by osmo checkpoint, osmo freeze or --checkpoint-file')
    .option('--force', 'restart even where files or stdin cannot be restored faithfully');
  addPlacementOptions(command)
    .helpOption('--help', 'display help for command')
    .addHelpText(
      'after',
      `
The program must still be at the path it was started from, unchanged (its sha256 is checked).
Bad images (corrupted, truncated, another format version, another program) are refused
with exit status 2 and never resumed.

This node is the restarted program's home. When a daemon runs here it is a program of the
cluster like any osmo run: it resumes here, then goes to the best node (-b, the default) or
the one -r names; the balancer moves it (-L: never by itself) and osmo migrate can.
${EXIT_CODES_HELP}`,
    )
    .action(async (image: string, opts: RestartOptions) => {
      process.exitCode = await restart(image, opts);
    });
}

async function restart(file: string, opts: RestartOptions): Promise<number> {
  const force = opts.force === true;
  let backend: HostBackend | undefined;
  let held: HeldSignals | undefined;
  let early: EarlyControl | undefined;
  let procSelf: ProcSelfFiles | undefined;
  let mailboxes: MailboxFiles | undefined;
  try {
    // The whole image is read and checked (header, every section checksum) before anything else.
    const opened = (await snapshotCode()).openImageFile(file);
    const meta = opened.meta;
    opened.close();
    const deputy = deputyStateOf(meta.deputy, file);
    const program = loadProgram(deputy.program);
    if (program.hash !== meta.moduleHash) {
      throw new OsmoError(
        'E_SNAPSHOT_MODULE',
        `${file} was taken from another build of ${deputy.program} (sha256 differs); restart needs the same program`,
      );
    }
    checkStdin(deputy, force);
    const placement = await resolvePlacement(opts);
    const job = jobOf(opts.job, process.env);
    // Listed by osmo ps from now on: instrumenting a program new to the cache takes seconds.
    early = await serveEarly({
      home: placement.daemon?.node ?? 'local',
      command: deputy.args,
      ...(job === undefined ? {} : { job }),
    });
    const instrumented = await instrumentedProgram(program);
    const mobility = mobilityOf(placement, instrumented.bytes, job);
    const away = mobility === undefined ? undefined : await startNodeOf(placement);
    // /proc/self is made anew, at the same place in the preopens (so fd numbers match).
    procSelf = new ProcSelfFiles(imageDir());
    const dirOfProcSelf = procSelf.dir;
    // So is /proc/mailbox, with the messages the image kept (an image of an older version has
    // none: the program then has no /proc/mailbox, as before).
    mailboxes = new MailboxFiles(imageDir());
    mailboxes.carry(mailboxRecordsOf(deputy, file));
    const dirOfMailboxes = mailboxes.dir;
    const view = deputy.preopens.map((p) =>
      p.guestPath === PROC_SELF
        ? { guestPath: PROC_SELF, hostPath: dirOfProcSelf }
        : p.guestPath === MAILBOX_DIR
          ? { guestPath: MAILBOX_DIR, hostPath: dirOfMailboxes }
          : p,
    );
    backend = new HostBackend({ preopens: view, special: mailboxes });
    for (const fd of deputy.fds) backend.restoreFd(fd, force);
    held = holdSignals();
    const session = new DeputySession({
      program,
      module: instrumented.module,
      preemptible: true,
      args: deputy.args,
      env: deputy.env,
      preopens: view,
      backend,
      procSelf,
      syscalls: procSelf.wrap(backend),
      mailboxes,
      strace: false,
      restoreFrom: file,
      // Time goes on: monotonic never goes back, CPU time accumulates (ADR 0002).
      clocks: originsAfterImage(meta.counters, true),
      ...(deputy.checkpointFile === undefined ? {} : { checkpointFile: deputy.checkpointFile }),
      ...(deputy.checkpointKeep === undefined ? {} : { checkpointKeep: deputy.checkpointKeep }),
      ...(mobility === undefined ? {} : { mobility }),
      ...(placement.daemon === undefined ? {} : { homeDaemon: placement.daemon }),
      ...(job === undefined ? {} : { job }),
    });
    const placed = away === undefined ? undefined : moveAfterRestore(session, away);
    return await supervise(session, held, placed, early);
  } catch (error) {
    return fail(error);
  } finally {
    // supervise closes it too once the program ends; closing is idempotent (a run that failed
    // before its program started closes it only here).
    await early?.server?.close();
    held?.release();
    backend?.closeAll();
    procSelf?.remove();
    mailboxes?.remove();
  }
}

function deputyStateOf(value: unknown, file: string): DeputyImageState {
  const d = value as Partial<DeputyImageState> | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    d.version !== 1 ||
    typeof d.program !== 'string' ||
    !Array.isArray(d.args) ||
    !Array.isArray(d.env) ||
    !Array.isArray(d.preopens) ||
    !Array.isArray(d.fds)
  ) {
    throw new OsmoError(
      'E_SNAPSHOT_CORRUPT',
      `${file} has no deputy state osmo restart understands`,
    );
  }
  return d as DeputyImageState;
}

/**
 * The mailbox messages an image kept, decoded. Its checksums already vouch for the bytes; this
 * refuses what a different writer could have put there, rather than handing the program a
 * message Node's lenient decoder made up.
 */
function mailboxRecordsOf(deputy: DeputyImageState, file: string): Buffer[] {
  const records: unknown = deputy.mailbox ?? [];
  if (!Array.isArray(records))
    throw new OsmoError('E_SNAPSHOT_CORRUPT', `${file}: its mailbox is not a list of messages`);
  return records.map((record: unknown, i) => {
    const bytes = typeof record === 'string' ? fromBase64(record) : undefined;
    if (bytes === undefined)
      throw new OsmoError(
        'E_SNAPSHOT_CORRUPT',
        `${file}: mailbox message ${i + 1} of ${records.length} is not base64; the image is damaged`,
      );
    return bytes;
  });
}

/** What a program had read of a pipe is gone: restarting with a pipe as stdin would lose it. */
function checkStdin(deputy: DeputyImageState, force: boolean): void {
  const stdin = deputy.fds.find((f) => f.fd === 0);
  if (force || stdin === undefined || stdin.kind !== 'stream') return;
  if (stdin.filetype === Filetype.CHARACTER_DEVICE) return; // a terminal: nothing was consumed from a file
  throw new OsmoError(
    'E_SNAPSHOT_CORRUPT',
    'cannot restore fd 0 (stdin): it was a pipe or socket, whose data already read cannot be given back; --force restarts with the new stdin',
  );
}
