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

export async function supervise(session: DeputySession): Promise<number> {
  const onSignal = (signal: NodeJS.Signals, code: number) => () => {
    void session.guest.kill({ kind: 'signal', signal, posix: code - 128 });
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', onSignal('SIGINT', ExitCode.SIGINT)],
    ['SIGTERM', onSignal('SIGTERM', ExitCode.SIGTERM)],
    ['SIGHUP', onSignal('SIGHUP', ExitCode.SIGHUP)],
  ];
  for (const [s, h] of handlers) process.on(s, h);
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
