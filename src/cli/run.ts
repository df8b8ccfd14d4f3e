/**
 * `osmo run [options] PROG.wasm [ARGS…]` (alias `mosrun`): runs a WASI program on this, its home
 * node. This process is the program's deputy: it owns the program's files, terminal and exit
 * status and serves every system call, while the program itself runs in a worker thread.
 */
import { readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { OsmoError } from '../core/errors.js';
import { HostBackend } from '../deputy/host-backend.js';
import { loadProgram } from '../runtime/load-program.js';
import type { Program } from '../runtime/load-program.js';
import { DeputySession, imageDir } from './deputy-session.js';
import { MailboxFiles } from './mailbox-files.js';
import { ProcSelfFiles } from './proc-self.js';
import { holdSignals, serveEarly, supervise } from './supervise.js';
import type { EarlyControl, HeldSignals } from './supervise.js';
import {
  addPlacementOptions,
  mobilityOf,
  jobOf,
  resolvePlacement,
  startAway,
  startNodeOf,
} from './placement.js';
import type { PlacementFlags } from './placement.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { collect, parseEnvAssignment, parseSize } from './options.js';
import { fail } from './report.js';
import { nativeConflicts, runNative } from './run-native.js';

interface RunOptions extends PlacementFlags {
  native?: boolean;
  cwd?: string;
  env: string[];
  inheritEnv: boolean;
  dir: string[];
  strace: boolean;
  maxMemory?: string;
  preemptible?: boolean;
  checkpointFile?: string;
  checkpointEvery?: string;
  checkpointKeep?: string;
}

export interface Preopen {
  guestPath: string;
  hostPath: string;
  /** Where `..` stops (default: hostPath). */
  root?: string;
}

/**
 * The default view of the home node's file system (docs/adr/0003-file-system-view.md). wasi-libc
 * picks a preopen by the longest prefix of a path with its leading `/` stripped, the latest
 * preopen winning ties, so a preopen `/` and a preopen `.` cannot both work. Instead: one entry
 * point per top-level host directory (`/etc`, `/home`, …) for absolute paths and the cwd as `.`,
 * last, for relative ones — all sharing the walk root `/`, so `..` and absolute symlinks behave
 * as on the host. A top-level name that is also an entry of the cwd is left out: relative paths
 * always win.
 */
function defaultView(cwd: string): Preopen[] {
  const inCwd = new Set(safeList(cwd));
  const tops = safeList('/').filter((name) => !inCwd.has(name) && isDirectory(`/${name}`));
  if (cwd === '/') return [{ guestPath: '.', hostPath: '/', root: '/' }];
  return [
    ...tops.map((name) => ({ guestPath: `/${name}`, hostPath: `/${name}`, root: '/' })),
    { guestPath: '.', hostPath: cwd, root: '/' },
  ];
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function preopensFor(dirs: readonly string[], cwd: string): Preopen[] {
  if (dirs.length === 0) return defaultView(cwd);
  return dirs.map((spec) => {
    const colon = spec.indexOf(':');
    const host = colon < 0 ? spec : spec.slice(0, colon);
    const guest = colon < 0 ? spec : spec.slice(colon + 1);
    const hostPath = resolve(cwd, host);
    let isDir = false;
    try {
      isDir = statSync(hostPath).isDirectory();
    } catch {
      throw new OsmoError('E_NOT_FOUND', `--dir ${spec}: ${hostPath} does not exist`);
    }
    if (!isDir) throw new OsmoError('E_USAGE', `--dir ${spec}: ${hostPath} is not a directory`);
    if (guest === '')
      throw new OsmoError('E_USAGE', `--dir ${spec}: the guest path after ':' is empty`);
    return { guestPath: guest, hostPath };
  });
}

export function environmentFor(inherit: boolean, assignments: readonly string[]): string[] {
  const env = new Map<string, string>();
  if (inherit) for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.set(k, v);
  for (const a of assignments) {
    const [k, v] = parseEnvAssignment(a);
    env.set(k, v);
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('run a WASI program (or with -E a native executable) with this node as its home')
    .argument('<program>', 'a wasm32-wasi command module (.wasm); with -E, a native executable')
    .argument('[args...]', "the program's arguments")
    .option(
      '-E, --native',
      'run a native Linux executable as a batch job [mosrun -E]: placed once, never migrated',
    )
    .option('--cwd <DIR>', 'with -E: the directory it runs in there (default: this one)')
    .option('--env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--no-inherit-env', "start from an empty environment instead of the caller's")
    .option(
      '--dir <HOST[:GUEST]>',
      'give the program only these directories (repeatable); default: / as / and the cwd as .',
      collect,
      [],
    )
    .option(
      '--max-memory <SIZE>',
      'most memory the program may have, e.g. 512M, 2G (plain number: MiB)',
    )
    .option('--strace', 'print every system call with its arguments, result and duration to stderr')
    .option(
      '--preemptible',
      'instrument the program so it can be checkpointed and frozen at any moment (costs CPU time)',
    )
    .option('--checkpoint-file <FILE>', 'where checkpoints go [mosrun -C]; implies --preemptible')
    .option('--checkpoint-every <MINUTES>', 'take a checkpoint every MINUTES [mosrun -A]')
    .option(
      '--checkpoint-keep <N>',
      'keep the N latest checkpoints as FILE.1 … FILE.N [mosrun -N]',
    );
  addPlacementOptions(command)
    .helpOption('--help', 'display help for command')
    .passThroughOptions()
    .addHelpText(
      'after',
      `
The program sees the home node's file system with your own permissions: "/" is the
host's root and its working directory "." is the directory you ran osmo from, so
absolute and relative paths mean what they mean in your shell. --dir limits it to
the directories you name. stdin, stdout and stderr are yours, streamed in order.

When a daemon runs on this node, the program starts on the best node of the cluster (-b)
unless -h or -r says otherwise. While it runs, the daemon's balancer moves it to where it
runs best (load, node speed, free memory; -L: never by itself) and osmo migrate moves it by hand;
wherever it runs, its files, terminal, clocks, pid and exit status are this node's. A node
the daemon chose that refuses it (more run there than the daemon counted on) is replaced by
its next choice; a node -r names that refuses it leaves it at home, and stderr says why.
Such a program is instrumented like --preemptible;
-h -L (home, never moved automatically) runs it uninstrumented.

Signals sent to osmo run reach the program wherever it runs: Ctrl-Z stops it (a program away
is held on its node) and fg or bg continues it; SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
the other signals that end a native program end it, with status 128+N.

An instrumented program is re-entered 0.1, 1 and 10 s after it starts (and after each move)
so that loops it is already in run V8's optimised code — up to 2x faster for a program whose
work is one long loop. The first adds 8 MiB to the program's memory as osmo ps shows it (zero
after use, so images skip it; every later re-entry, checkpoint or move reuses it); a program
with a memory maximum (--max-memory) or a stack deeper than 2000 frames is not re-entered.
OSMOSIS_REENTRY=off turns it off.

-E runs a native Linux executable instead, as a batch job [mosrun -E]: placed once (-b: the
best node whose daemon runs native programs, config native; -r NODE; -h), never migrated,
frozen or checkpointed. There it runs as you (never as root), in this directory's path (or
--cwd DIR), with your environment and OSMOSIS_NODE set to the node, on that node's files; its
stdin, stdout, stderr, signals and exit status are this process's. A node that refuses it
leaves it at home, and stderr says why. What it leaves running there when it ends is ended
with it (at home it lives on, as after a shell). See docs/native.md.

A program away that reads a file of this node in order gets the bytes that follow with each
answer (up to 512 KiB), and where the file ends, and reads them there with no round trip; it
sees a change made here to that file within 1 s, and at once after any write, seek or open of
its own.
OSMOSIS_READ_AHEAD=off turns it off.

Programs send each other messages through mailboxes [MOSIX: migratable sockets], wherever
either runs: /proc/mailbox/self, opened for reading, is the program's own (72-byte header:
length, sender pid, sender home; then the message); each write to /proc/mailbox/NODE/PID (or
/proc/mailbox/PID at this home) is one message of up to 256 KiB to that program of yours, and
returns once its mailbox holds it. See docs/mailboxes.md.
${EXIT_CODES_HELP}`,
    )
    .action(async (prog: string, args: string[], opts: RunOptions) => {
      process.exitCode = await runProgram(prog, args, opts);
    });
}

async function runProgram(path: string, args: string[], opts: RunOptions): Promise<number> {
  if (opts.native === true || opts.cwd !== undefined) return runNativeProgram(path, args, opts);
  let backend: HostBackend | undefined;
  let held: HeldSignals | undefined;
  let procSelf: ProcSelfFiles | undefined;
  let mailboxes: MailboxFiles | undefined;
  let early: EarlyControl | undefined;
  try {
    const maxMemoryBytes =
      opts.maxMemory === undefined ? undefined : parseSize(opts.maxMemory, '--max-memory');
    const program = loadProgram(path, maxMemoryBytes === undefined ? {} : { maxMemoryBytes });
    const preopens = preopensFor(opts.dir, process.cwd());
    const env = environmentFor(opts.inheritEnv, opts.env);
    const everyMs =
      opts.checkpointEvery === undefined
        ? undefined
        : parseMinutes(opts.checkpointEvery, '--checkpoint-every');
    const keep =
      opts.checkpointKeep === undefined
        ? undefined
        : parseCount(opts.checkpointKeep, '--checkpoint-keep');
    const selfTicks = checkpointTicksFromEnv();
    const placement = await resolvePlacement(opts);
    const job = jobOf(opts.job, process.env);
    const preemptible =
      placement.mobile ||
      opts.preemptible === true ||
      opts.checkpointFile !== undefined ||
      everyMs !== undefined ||
      selfTicks.checkpointAtTicks !== undefined;
    if (everyMs !== undefined && opts.checkpointFile === undefined) {
      throw new OsmoError('E_USAGE', '--checkpoint-every needs --checkpoint-file FILE to write to');
    }
    // Listed by osmo ps from now on: instrumenting a program new to the cache takes seconds.
    early = preemptible
      ? await serveEarly({
          home: placement.daemon?.node ?? 'local',
          command: [path, ...args],
          ...(job === undefined ? {} : { job }),
        })
      : undefined;
    const instrumented = preemptible ? await instrumentedProgram(program) : undefined;
    const module = instrumented?.module ?? program.module;
    const mobility =
      instrumented === undefined ? undefined : mobilityOf(placement, instrumented.bytes, job);
    const away = mobility === undefined ? undefined : await startNodeOf(placement);
    procSelf = preemptible ? new ProcSelfFiles(imageDir()) : undefined;
    mailboxes = new MailboxFiles(imageDir());
    const view = mailboxes.placeIn(procSelf ? procSelf.placeIn(preopens) : preopens);
    backend = new HostBackend({ preopens: view, special: mailboxes });
    held = holdSignals();
    const session = new DeputySession({
      program,
      module,
      preemptible,
      args: [path, ...args],
      env,
      preopens: view,
      backend,
      ...(procSelf === undefined ? {} : { procSelf, syscalls: procSelf.wrap(backend) }),
      mailboxes,
      strace: opts.strace,
      ...(opts.checkpointFile === undefined
        ? {}
        : { checkpointFile: resolve(opts.checkpointFile) }),
      ...(keep === undefined ? {} : { checkpointKeep: keep }),
      ...(everyMs === undefined ? {} : { checkpointEveryMs: everyMs }),
      ...selfTicks,
      ...(mobility === undefined ? {} : { mobility }),
      ...(placement.daemon === undefined ? {} : { homeDaemon: placement.daemon }),
      ...(away === undefined ? {} : { startAway: away.node }),
      ...(job === undefined ? {} : { job }),
    });
    const placed = away === undefined ? undefined : startAway(session, away, placement);
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

function runNativeProgram(path: string, args: string[], opts: RunOptions): Promise<number> {
  try {
    if (opts.native !== true)
      throw new OsmoError('E_USAGE', '--cwd is for native programs: add -E');
    const conflict = nativeConflicts(opts as unknown as Record<string, unknown>);
    if (conflict !== undefined) throw new OsmoError('E_USAGE', conflict);
    return runNative(path, args, {
      ...opts,
      environment: environmentFor(opts.inheritEnv, opts.env),
    });
  } catch (error) {
    return Promise.resolve(fail(error));
  }
}

/** The program instrumented for preemption (docs/adr/0006), from the on-disk cache when it can. */
export async function instrumentedProgram(
  program: Program,
): Promise<{ module: WebAssembly.Module; bytes: Uint8Array }> {
  const { instrumentCached } = await import('../instrument/cache.js');
  const made = await instrumentCached(program.bytes);
  return { module: new WebAssembly.Module(made.bytes), bytes: made.bytes };
}

/**
 * OSMOSIS_CHECKPOINT_TICKS=T1,T2,… (a testing aid, docs/cli.md): the program checkpoints itself
 * after exactly those numbers of ticks, so tests can take images at reproducible moments.
 */
export function checkpointTicksFromEnv(): { checkpointAtTicks?: bigint[] } {
  const text = process.env.OSMOSIS_CHECKPOINT_TICKS;
  if (text === undefined || text === '') return {};
  const ticks = text.split(',').map((t) => t.trim());
  if (!ticks.every((t) => /^\d+$/.test(t))) {
    throw new OsmoError(
      'E_USAGE',
      `OSMOSIS_CHECKPOINT_TICKS=${text}: expected tick counts like 5,20,300`,
    );
  }
  return { checkpointAtTicks: ticks.map((t) => BigInt(t)) };
}

function parseMinutes(text: string, option: string): number {
  const minutes = Number(text);
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new OsmoError(
      'E_USAGE',
      `${option} ${text}: expected a number of minutes above 0 (e.g. 0.5 or 30)`,
    );
  }
  return Math.round(minutes * 60_000);
}

function parseCount(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new OsmoError('E_USAGE', `${option} ${text}: expected a whole number ≥ 1`);
  return n;
}
