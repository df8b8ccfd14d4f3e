/** Where the control socket lives when nobody says: a private per-user directory. */
import { join } from 'node:path';

export function defaultControlDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'osmosis');
  return `/tmp/osmosis-${process.getuid?.() ?? 'user'}`;
}

export function defaultControlSocket(env: Readonly<Record<string, string | undefined>>): string {
  return join(defaultControlDir(env), 'daemon.sock');
}

/** `--daemon ADDR`, else OSMOSIS_DAEMON, else the default socket. */
export function resolveDaemonSocket(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  return flag ?? env.OSMOSIS_DAEMON ?? defaultControlSocket(env);
}
