/**
 * What bin/osmo.js loads first, before the CLI: it boots a guest worker on the other core while
 * the rest starts (src/runtime/worker-pool.ts), when the program will need one here.
 */
import { existsSync } from 'node:fs';
import { resolveDaemonSocket } from '../daemon/socket-path.js';
import { prestartGuestWorker } from '../runtime/worker-pool.js';

/**
 * For `osmo run ARGS`: pre-starts a worker unless a daemon here may start the program on another
 * node (-b, -r), where it would never need one: on a busy home, booting it would be CPU taken
 * from the programs. A guess from the arguments (a wrong one costs ~50 ms, never correctness).
 */
export function prestartForRun(args: readonly string[]): void {
  const flag = args.indexOf('--daemon');
  const socket = resolveDaemonSocket(flag >= 0 ? args[flag + 1] : undefined, process.env);
  if (args.includes('-h') || socket === undefined || !existsSync(socket)) prestartGuestWorker();
}
