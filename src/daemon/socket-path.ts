/**
 * Where clients find their daemon (their own, or one run for the host), and where a daemon puts
 * its socket when nobody says.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { OsmoError } from '../core/errors.js';

/**
 * A daemon the administrator runs for the whole host (examples/osmosis.service): its own
 * socket, which root can use, then the users' socket (config usersSocket), which everyone can.
 */
export const SYSTEM_SOCKETS: readonly string[] = [
  '/run/osmosis/daemon.sock',
  '/run/osmosis/users.sock',
];

export function defaultControlDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'osmosis');
  return `/tmp/osmosis-${process.getuid?.() ?? 'user'}`;
}

export function defaultControlSocket(env: Readonly<Record<string, string | undefined>>): string {
  return join(defaultControlDir(env), 'daemon.sock');
}

/** `--daemon none` or OSMOSIS_DAEMON=none: use no daemon, whatever this host runs. */
export const NO_DAEMON = 'none';

/**
 * `--daemon ADDR`, else OSMOSIS_DAEMON, else the first of the user's own default socket and the
 * {@link SYSTEM_SOCKETS} this user may connect to, else the user's own (for the error message);
 * undefined when told to use none ({@link NO_DAEMON}).
 */
export function resolveDaemonSocket(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  usable: (path: string) => boolean = mayConnect,
): string | undefined {
  const named = flag ?? env.OSMOSIS_DAEMON;
  if (named !== undefined) return named === NO_DAEMON ? undefined : named;
  const own = defaultControlSocket(env);
  return [own, ...SYSTEM_SOCKETS].find(usable) ?? own;
}

/** {@link resolveDaemonSocket} for a command that cannot do without a daemon. */
export function requireDaemonSocket(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const socket = resolveDaemonSocket(flag, env);
  if (socket === undefined) {
    throw new OsmoError(
      'E_NO_NODE',
      `no daemon to ask: ${flag === NO_DAEMON ? '--daemon' : 'OSMOSIS_DAEMON'} is "${NO_DAEMON}"; name a socket instead`,
    );
  }
  return socket;
}

/** Connecting to a Unix socket needs write permission on it. */
function mayConnect(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
