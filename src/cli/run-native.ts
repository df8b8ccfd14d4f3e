/**
 * `osmo run -E PROGRAM [ARGS…]` (mosrun -E): a native Linux executable as a batch job
 * (docs/native.md). It is placed once — on the best node that runs native programs (-b), on
 * the node -r names, or at home (-h) — and never migrates: a native process's state cannot be
 * captured. There it runs as its user, in the same directory (or --cwd), with the user's
 * environment, on that node's files; its stdin, stdout, stderr, signals and exit status are
 * this process's, as MOSIX's batch jobs.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { MAX_START_NODES, startAsksConsent } from '../balance/consent.js';
import { OsmoError, isOsmoError } from '../core/errors.js';
import { requestOnce } from '../daemon/control-client.js';
import type { PlaceResult } from '../daemon/control-protocol.js';
import { NativeDeputy } from '../native/native-deputy.js';
import { envObject } from '../native/native-wire.js';
import { roomIn, whenWritten } from '../native/relay.js';
import type { NativeOutcome } from '../native/native-deputy.js';
import type {
  ProcessControl,
  ProcessControlServer,
  ProcessInfo,
} from '../process-control/index.js';
import { adoptByDaemon } from './balance-registration.js';
import { withProof } from './daemon-proof.js';
import { dyingWithParent } from '../platform/die-with-parent.js';
import { executableOf, missingExecutable } from '../platform/executable-lookup.js';
import { treeUsage } from '../platform/process-usage.js';
import type { ProcessUsage } from '../platform/process-usage.js';
import { jobOf, resolvePlacement } from './placement.js';
import type { Placement, PlacementFlags } from './placement.js';
import { fail, warn } from './report.js';
import { SIGNAL_STATUS, holdSignals, serveControl } from './supervise.js';
import type { HeldSignals } from './supervise.js';

export interface NativeRunOptions extends PlacementFlags {
  /** Where it runs (there): default, the current directory's path. */
  cwd?: string;
  /** The user's environment, as environmentFor made it (KEY=VALUE). */
  environment: string[];
}

/** Options of osmo run that only a WASI program can have, and why. */
export function nativeConflicts(opts: Record<string, unknown>): string | undefined {
  const wasmOnly: [string, string][] = [
    ['dir', '--dir'],
    ['maxMemory', '--max-memory'],
    ['strace', '--strace'],
    ['preemptible', '--preemptible'],
    ['checkpointFile', '--checkpoint-file'],
    ['checkpointEvery', '--checkpoint-every'],
    ['checkpointKeep', '--checkpoint-keep'],
    ['mayMigrate', '-l'],
  ];
  for (const [key, flag] of wasmOnly) {
    const value = opts[key];
    if (value === undefined || value === false || (Array.isArray(value) && value.length === 0))
      continue;
    return `${flag} does not apply to a native program (-E): it runs where it starts, as it is, until it ends`;
  }
  return undefined;
}

export async function runNative(
  program: string,
  args: string[],
  opts: NativeRunOptions,
): Promise<number> {
  let held: HeldSignals | undefined;
  let control: ProcessControlServer | undefined;
  let stopAdoption: (() => void) | undefined;
  try {
    const cwd = resolve(opts.cwd ?? process.cwd());
    const placement = await resolvePlacement({ ...opts, lock: true });
    const job = jobOf(opts.job, process.env);
    held = holdSignals();
    const startedAt = new Date();
    const request = { program, args, env: opts.environment, cwd };
    const away = await startAway(placement, request, job);
    const home = placement.daemon?.node ?? 'local';
    const where = away?.deputy.grant.node ?? home;
    // Away: as its runner last reported; here: read from /proc once it has started.
    let usage: () => ProcessUsage | undefined = () => away?.deputy.usage;
    const info = (): ProcessInfo => ({
      pid: process.pid,
      home,
      where,
      state: 'running',
      ...(usage() ?? { cpuTimeMs: 0, memoryBytes: 0 }),
      startedAt: startedAt.toISOString(),
      since: startedAt.toISOString(),
      command: [program, ...args],
      ...(job === undefined ? {} : { job }),
      preemptible: false,
      movable: false,
      native: true,
    });
    control = await controlSocket(info);
    // The home's balancer lists it (osmo ps from any node) and counts it here while it runs
    // here; it never moves it (movable: false).
    if (control !== undefined && placement.daemon !== undefined)
      stopAdoption = adoptByDaemon(placement.daemon.socket, process.pid, control.path, info);
    if (away !== undefined) {
      const stop = forwardSignals(held, (s) => away.deputy.signal(s));
      try {
        const status = statusOf(await away.deputy.outcome);
        // Its last output, before this process exits.
        await Promise.all([whenWritten(process.stdout), whenWritten(process.stderr)]);
        return status;
      } finally {
        stop();
      }
    }
    // The program finds the node it runs on in OSMOSIS_NODE, here as there.
    const here =
      placement.daemon === undefined
        ? request
        : { ...request, env: [...request.env, `OSMOSIS_NODE=${home}`] };
    return await runHere(here, held, (pid) => (usage = () => treeUsage(pid)));
  } catch (error) {
    return fail(error);
  } finally {
    stopAdoption?.();
    held?.release();
    await control?.close();
  }
}

/** What runs: the program as the user named it, its arguments, environment and directory. */
type NativeStart = { program: string; args: string[]; env: string[]; cwd: string };

/**
 * Starts it on another node, or says why not and returns undefined (it then runs at home): a
 * node the daemon chose that refuses it is replaced by the daemon's next choice, as for a WASI
 * program (placement.ts).
 */
async function startAway(
  placement: Placement,
  request: NativeStart,
  job: string | undefined,
): Promise<Awaited<ReturnType<typeof NativeDeputy.start>> | undefined> {
  const { start, daemon } = placement;
  if (start.kind === 'home' || daemon === undefined) return undefined;
  const refused: string[] = [];
  const best = async (): Promise<{ node: string; expectedQueue?: number } | undefined> => {
    const b = await requestOnce(daemon.socket, 'best', {
      memoryBytes: placement.memoryBytes,
      refused,
      native: true,
    });
    if (b.self || b.node === daemon.node) return undefined;
    return startAsksConsent(refused.length) && b.expectedQueue !== undefined
      ? { node: b.node, expectedQueue: b.expectedQueue }
      : { node: b.node };
  };
  try {
    let choice = start.kind === 'node' ? { node: start.node } : await best();
    if (choice?.node === daemon.node) return undefined;
    while (choice !== undefined) {
      try {
        const grant = await place(daemon.socket, choice, placement, request, job);
        const started = await NativeDeputy.start(grant, request, {
          stdin: process.stdin,
          write: (fd, bytes) => {
            const stream = fd === 1 ? process.stdout : process.stderr;
            if (stream.destroyed || stream.write(bytes)) return undefined;
            return roomIn(stream);
          },
        });
        signalOnBrokenPipe(started.deputy);
        return started;
      } catch (error) {
        if (isOsmoError(error, 'E_PROCESS_LOST')) throw error; // it may have run: never twice
        const mayChooseAgain =
          start.kind === 'best' &&
          isOsmoError(error, 'E_REFUSED') &&
          refused.length + 1 < MAX_START_NODES;
        if (!mayChooseAgain) throw error;
        refused.push(choice.node);
        choice = await best();
      }
    }
    return undefined;
  } catch (error) {
    if (isOsmoError(error, 'E_PROCESS_LOST')) throw error;
    warn(
      `could not start ${request.program} on another node (${error instanceof Error ? error.message : String(error)}); it runs at home`,
    );
    return undefined;
  }
}

/**
 * A write to a pipe nobody reads any more ends a native program with SIGPIPE (`prog | head`):
 * so does home's stdout or stderr closing under the program away.
 */
function signalOnBrokenPipe(deputy: NativeDeputy): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      stream.destroy();
      if (error.code === 'EPIPE') deputy.signal('SIGPIPE');
    });
  }
}

/** Asks the daemon here for a place on `choice.node`, proving who asks with a ticket's file. */
async function place(
  socket: string,
  choice: { node: string; expectedQueue?: number },
  placement: Placement,
  request: NativeStart,
  job: string | undefined,
): Promise<PlaceResult> {
  return withProof(socket, (ticket) =>
    requestOnce(socket, 'place', {
      node: choice.node,
      pid: process.pid,
      memoryBytes: placement.memoryBytes,
      moduleHash: '',
      ...(choice.expectedQueue === undefined ? {} : { expectedQueue: choice.expectedQueue }),
      ...(job === undefined ? {} : { job }),
      native: {
        program: request.program,
        cwd: request.cwd,
        path: pathOf(request.env),
        proof: ticket,
      },
    }),
  );
}

/** At home: a child of this process, with this process's stdio. */
async function runHere(
  request: NativeStart,
  held: HeldSignals,
  started: (pid: number) => void,
): Promise<number> {
  const env = envObject(request.env);
  // Checked first: started through setpriv, a missing program would not fail the spawn itself.
  const lookup = { ...request, path: env.PATH ?? '' };
  if (executableOf(lookup) === undefined)
    throw new OsmoError(
      'E_NOT_FOUND',
      `cannot start ${request.program}: ${missingExecutable(lookup)}`,
    );
  // Killed with this process, even by SIGKILL, as it is with its runner away.
  const launch = dyingWithParent(request.program, request.args);
  const child = spawn(launch.file, launch.args, {
    cwd: request.cwd,
    env,
    stdio: 'inherit',
  });
  child.once('spawn', () => started(child.pid!));
  const stop = forwardSignals(held, (s) => child.kill(s));
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e) =>
        reject(new OsmoError('E_NOT_FOUND', `cannot start ${request.program}: ${e.message}`)),
      );
      child.once('close', (code, signal) =>
        resolve(statusOf(signal === null ? { code: code ?? 0 } : { signal })),
      );
    });
  } finally {
    stop();
  }
}

/** Sends the signals users send osmo run on to the program; returns the function that stops it. */
function forwardSignals(held: HeldSignals, send: (s: NodeJS.Signals) => void): () => void {
  const handlers: [NodeJS.Signals, () => void][] = SIGNAL_STATUS.map(([s]) => [s, () => send(s)]);
  // Ctrl-Z stops the program wherever it runs, then this process; fg or bg continues both.
  handlers.push(
    [
      'SIGTSTP',
      () => {
        send('SIGSTOP');
        process.kill(process.pid, 'SIGSTOP');
      },
    ],
    ['SIGCONT', () => send('SIGCONT')],
  );
  for (const [s, h] of handlers) process.on(s, h);
  held.release();
  if (held.first !== undefined) send(held.first);
  return () => {
    for (const [s, h] of handlers) process.off(s, h);
  };
}

function statusOf(outcome: NativeOutcome): number {
  if (outcome.signal !== undefined) return 128 + (constants.signals[outcome.signal] ?? 0);
  return (outcome.code ?? 0) & 0xff;
}

function pathOf(env: readonly string[]): string {
  return env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/bin:/usr/bin:/bin';
}

/** osmo ps lists it like any program of this home; what it cannot do is refused by name. */
async function controlSocket(
  info: ProcessControl['info'],
): Promise<ProcessControlServer | undefined> {
  const never = (what: string) => (): Promise<never> =>
    Promise.reject(
      new OsmoError(
        'E_USAGE',
        `${process.pid} is a native program (osmo run -E): it cannot be ${what}; it runs where it started until it ends`,
      ),
    );
  return serveControl({
    info,
    checkpoint: never('checkpointed'),
    freeze: never('frozen'),
    continue: never('continued'),
    migrate: never('migrated'),
  });
}
