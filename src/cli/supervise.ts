/** Runs a session to its end as the foreground command: signals end it, its outcome is our status. */
import { OsmoError } from '../core/errors.js';
import type { GuestOutcome } from '../runtime/guest-messages.js';
import { formatTrap } from '../runtime/trap.js';
import type { DeputySession } from './deputy-session.js';
import { startProcessControlServer } from '../process-control/index.js';
import type { ProcessControlServer } from '../process-control/index.js';
import { sessionControl } from './session-control.js';
import { ExitCode } from './exit-codes.js';
import { fail, warn } from './report.js';
import { adoptByDaemon } from './balance-registration.js';

const SIGNAL_STATUS: readonly [NodeJS.Signals, number][] = [
  ['SIGINT', ExitCode.SIGINT],
  ['SIGTERM', ExitCode.SIGTERM],
  ['SIGHUP', ExitCode.SIGHUP],
];

export interface HeldSignals {
  /** The first signal that arrived while held, if any. */
  readonly first: NodeJS.Signals | undefined;
  release(): void;
}

/**
 * Holds SIGINT/SIGTERM/SIGHUP from before the program starts until {@link supervise} serves
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

export async function supervise(session: DeputySession, held?: HeldSignals): Promise<number> {
  const onSignal = (signal: NodeJS.Signals, code: number) => () => {
    void session.guest.kill({ kind: 'signal', signal, posix: code - 128 });
  };
  const handlers: [NodeJS.Signals, () => void][] = SIGNAL_STATUS.map(([s, code]) => [
    s,
    onSignal(s, code),
  ]);
  for (const [s, h] of handlers) process.on(s, h);
  held?.release();
  const early = handlers.find(([s]) => s === held?.first);
  early?.[1]();
  // osmo ps / checkpoint / freeze / continue PID reach the program through this socket.
  let control: ProcessControlServer | undefined;
  try {
    control = await startProcessControlServer(sessionControl(session));
  } catch (error) {
    // The program runs all the same; only osmo ps/checkpoint/freeze cannot reach it.
    warn(
      `no control socket for this process: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // The home daemon's balancer watches every program here (it counts in the load), and moves
  // those that may move (info says which).
  const daemon = session.options.homeDaemon;
  const stopAdoption =
    control !== undefined && daemon !== undefined
      ? adoptByDaemon(daemon.socket, process.pid, control.path)
      : undefined;
  try {
    return exitStatus(await session.guest.outcome);
  } finally {
    stopAdoption?.();
    for (const [s, h] of handlers) process.off(s, h);
    await control?.close();
  }
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
