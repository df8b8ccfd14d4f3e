/** Runs a session to its end as the foreground command: signals end it, its outcome is our status. */
import { constants } from 'node:os';
import { OsmoError } from '../core/errors.js';
import type { GuestOutcome } from '../runtime/guest-messages.js';
import { formatTrap } from '../runtime/trap.js';
import type { DeputySession } from './deputy-session.js';
import { startProcessControlServer } from '../process-control/index.js';
import type { ProcessControl, ProcessControlServer } from '../process-control/index.js';
import { sessionControl } from './session-control.js';
import { StartingControl } from './starting-control.js';
import type { StartingProcess } from './starting-control.js';
import { ExitCode } from './exit-codes.js';
import { fail, warn } from './report.js';
import { adoptByDaemon } from './balance-registration.js';
import { snapshotCode } from '../snapshot/load.js';

/** Past a short program's whole run, well before a balancer's first move (minimum residency). */
const IMAGE_CODE_PRELOAD_MS = 500;

/**
 * Signals whose default action ends a native program, as the user sends them to `osmo run`: each
 * ends the program, wherever it runs, with 128 + N. Not here: SIGKILL and SIGSTOP (uncatchable),
 * SIGSEGV, SIGBUS, SIGFPE and SIGILL (Node cannot run JavaScript after a real one), SIGPIPE (Node
 * ignores it; a write to a closed pipe reaches the program as EPIPE) and SIGTRAP (debuggers').
 * SIGUSR1 matters most: Node's own default for it opens a debugger port on 127.0.0.1:9229.
 * SIGPROF is V8's sampling clock under `node --cpu-prof`: then it is left to V8 (a profiled
 * `osmo run` died of its first tick).
 */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGABRT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

const PROFILED = process.execArgv.some((a) => a.startsWith('--cpu-prof'));

/** The forwarded signals this platform has, each with the exit status it gives (128 + N). */
export const SIGNAL_STATUS: readonly [NodeJS.Signals, number][] = FORWARDED_SIGNALS.filter(
  (s) => constants.signals[s] !== undefined && !(PROFILED && s === 'SIGPROF'),
).map((s) => [s, 128 + constants.signals[s]]);

export interface HeldSignals {
  /** The first signal that arrived while held, if any. */
  readonly first: NodeJS.Signals | undefined;
  release(): void;
}

/**
 * Holds the forwarded signals from before the program starts until {@link supervise} serves
 * them: the guest thread may write to stdout at once (direct writes), and a signal sent on its
 * first output must end it with 128+N, not kill osmo with the default action.
 */
export function holdSignals(): HeldSignals {
  let first: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals): void => {
    first ??= signal;
  };
  for (const [s] of SIGNAL_STATUS) process.on(s, hold);
  return {
    get first() {
      return first;
    },
    release: () => {
      for (const [s] of SIGNAL_STATUS) process.off(s, hold);
    },
  };
}

/**
 * `placed`: settles once a program placed on another node at start runs there (or stayed home):
 * the home daemon is told of it then, with where it runs.
 */
export async function supervise(
  session: DeputySession,
  held?: HeldSignals,
  placed?: Promise<void>,
  early?: EarlyControl,
): Promise<number> {
  const onSignal = (signal: NodeJS.Signals, code: number) => () => {
    void session.guest.kill({ kind: 'signal', signal, posix: code - 128 });
  };
  const handlers: [NodeJS.Signals, () => void][] = SIGNAL_STATUS.map(([s, code]) => [
    s,
    onSignal(s, code),
  ]);
  for (const [s, h] of handlers) process.on(s, h);
  const stopJob = jobControl(session);
  held?.release();
  const heldFirst = handlers.find(([s]) => s === held?.first);
  heldFirst?.[1]();
  // The image code is loaded at the first image, not at start (ADR 0001); a program that can be
  // stopped loads it soon after instead, off its start: a bundle replaced by an upgrade while it
  // runs can then no longer fail a move home after its target died (the image is the only copy).
  if (session.options.preemptible) {
    setTimeout(() => void snapshotCode().catch(() => undefined), IMAGE_CODE_PRELOAD_MS).unref();
  }
  // osmo ps / checkpoint / freeze / continue PID reach the program through this socket.
  const controlled = sessionControl(session);
  early?.starting.started(controlled);
  const control = early !== undefined ? early.server : await serveControl(controlled);
  // The home daemon's balancer watches every program here (it counts in the load), and moves
  // those that may move (info says which).
  const daemon = session.options.homeDaemon;
  let ended = false;
  let stopAdoption: (() => void) | undefined;
  if (control !== undefined && daemon !== undefined) {
    const path = control.path;
    void (placed ?? Promise.resolve()).then(() => {
      if (!ended)
        stopAdoption = adoptByDaemon(daemon.socket, process.pid, path, () => controlled.info());
    });
  }
  try {
    return exitStatus(await session.guest.outcome);
  } finally {
    ended = true;
    stopAdoption?.();
    stopJob();
    for (const [s, h] of handlers) process.off(s, h);
    await control?.close();
  }
}

/** A control socket served from before the program started (./starting-control.ts). */
export interface EarlyControl {
  readonly starting: StartingControl;
  readonly server: ProcessControlServer | undefined;
}

/**
 * Serves the control socket before the program starts: while it is prepared, `osmo ps` lists it
 * as starting. {@link supervise} closes its server when the program ends; the caller closes it
 * too (closing twice is harmless), for a run that fails before its program starts.
 */
export async function serveEarly(program: StartingProcess): Promise<EarlyControl> {
  const starting = new StartingControl(program);
  return { starting, server: await serveControl(starting) };
}

/**
 * The process's control socket (osmo ps / checkpoint / freeze / continue / migrate PID), or
 * undefined with a warning: the program runs all the same, only those commands cannot reach it.
 */
export async function serveControl(
  control: ProcessControl,
): Promise<ProcessControlServer | undefined> {
  try {
    return await startProcessControlServer(control);
  } catch (error) {
    warn(
      `no control socket for this process: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
}

/**
 * Ctrl-Z (SIGTSTP) stops the program wherever it runs, as a shell user expects: a program away
 * is held on its node (it would go on computing, unseen, while its home is stopped), then this
 * process stops itself; `fg`/`bg` (SIGCONT) continues both. Returns the function that ends it.
 */
function jobControl(session: DeputySession): () => void {
  const onStop = (): void => {
    void session.guest
      .stopWithHome()
      .catch(() => undefined)
      .finally(() => process.kill(process.pid, 'SIGSTOP'));
  };
  const onContinue = (): void => session.guest.continueWithHome();
  process.on('SIGTSTP', onStop);
  process.on('SIGCONT', onContinue);
  return () => {
    process.off('SIGTSTP', onStop);
    process.off('SIGCONT', onContinue);
  };
}

function exitStatus(outcome: GuestOutcome): number {
  switch (outcome.kind) {
    case 'exit':
      return outcome.code & 0xff;
    case 'signal':
      return 128 + outcome.posix;
    case 'trap':
      warn(formatTrap(outcome));
      return ExitCode.TRAP;
    case 'error':
      return fail(OsmoError.fromJSON(outcome.error));
  }
}
