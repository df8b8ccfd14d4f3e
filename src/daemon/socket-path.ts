/** Where the control socket lives when nobody says: a private per-user directory. */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

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

/**
 * `--daemon ADDR`, else OSMOSIS_DAEMON, else the first of the user's own default socket and the
 * {@link SYSTEM_SOCKETS} this user may connect to, else the user's own (for the error message).
 */
export function resolveDaemonSocket(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  usable: (path: string) => boolean = mayConnect,
): string {
  if (flag !== undefined) return flag;
  if (env.OSMOSIS_DAEMON !== undefined) return env.OSMOSIS_DAEMON;
  const own = defaultControlSocket(env);
  return [own, ...SYSTEM_SOCKETS].find(usable) ?? own;
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
