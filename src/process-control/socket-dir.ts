/**
 * Where per-process control sockets live, and the checks that make that place private.
 *
 * `<dir>/<pid>.sock`, with `<dir>` = `$XDG_RUNTIME_DIR/osmosis/proc`, else
 * `/tmp/osmosis-<uid>/proc`. Access control is the directory: both `osmosis` (or `osmosis-<uid>`)
 * and `proc` must be real directories owned by the user with no group/other permission bits, so
 * only that user (and root, who passes every permission check) can reach a socket. In /tmp anyone
 * could have created `osmosis-<uid>` first, or made it a symlink: such a directory is refused, never
 * "fixed", because its owner could swap our sockets for theirs.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { OsmoError } from '../core/errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Where to find sockets; tests and a future daemon may name the directory outright. */
export interface SocketDirOptions {
  /** The socket directory itself (only it is checked); default from the environment. */
  dir?: string;
  env?: Env;
  /** Default process.getuid(). */
  uid?: number;
}

export interface SocketDir {
  readonly dir: string;
  /** Directories that must be private, outermost first. */
  readonly chain: readonly string[];
  readonly uid: number;
}

/** Sun_path is 108 bytes on Linux and 104 on macOS; stay under both. */
export const MAX_SOCKET_PATH_BYTES = 103;

export function currentUid(): number {
  return process.getuid?.() ?? 0;
}

export function resolveSocketDir(options: SocketDirOptions = {}): SocketDir {
  const uid = options.uid ?? currentUid();
  if (options.dir !== undefined) return { dir: options.dir, chain: [options.dir], uid };
  const env = options.env ?? process.env;
  const base = env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, 'osmosis')
    : join('/tmp', `osmosis-${uid}`);
  const dir = join(base, 'proc');
  return { dir, chain: [base, dir], uid };
}

export function socketPath(dir: string, pid: number): string {
  return join(dir, `${pid}.sock`);
}

/** The pid a socket file name stands for, or undefined for any other file. */
export function pidOfSocketName(name: string): number | undefined {
  const m = /^([1-9][0-9]{0,9})\.sock$/.exec(name);
  if (!m?.[1]) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) ? pid : undefined;
}

/**
 * Checks the chain without creating anything. Returns false if some directory does not exist
 * (then there are no sockets). Throws E_CONFIG naming the directory if one is not private.
 * Root may read any user's directory (to control that user's processes), so for root the owner
 * is not checked.
 */
export function checkSocketDir(where: SocketDir, options: { anyOwner?: boolean } = {}): boolean {
  for (const path of where.chain) {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new OsmoError(
        'E_CONFIG',
        `cannot inspect the process control directory ${path} (${errnoOf(e)})`,
        { cause: e },
      );
    }
    assertPrivate(path, st, where.uid, options.anyOwner === true);
  }
  return true;
}

/** Creates the chain mode 0700 where missing, then checks it. For the server side. */
export function ensureSocketDir(where: SocketDir): void {
  const first = where.chain[0];
  if (first === undefined) return;
  try {
    // Above the chain (e.g. $XDG_RUNTIME_DIR itself) is the environment's business.
    mkdirSync(dirname(first), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new OsmoError(
      'E_CONFIG',
      `cannot create ${dirname(first)} for process control sockets (${errnoOf(e)})`,
      { cause: e },
    );
  }
  for (const path of where.chain) {
    try {
      mkdirSync(path, { mode: 0o700 });
      // The umask may have taken bits away; we created it, so we may set exactly 0700.
      chmodSync(path, 0o700);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OsmoError(
          'E_CONFIG',
          `cannot create the process control directory ${path} (${errnoOf(e)})`,
          { cause: e },
        );
      }
    }
  }
  checkSocketDir(where);
}

function assertPrivate(path: string, st: Stats, uid: number, anyOwner: boolean): void {
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new OsmoError(
      'E_CONFIG',
      `${path} is not a directory (a ${st.isSymbolicLink() ? 'symlink' : 'file'}); Osmosis keeps process control sockets only in a private directory of yours: remove it, or set XDG_RUNTIME_DIR`,
    );
  }
  if (!anyOwner && st.uid !== uid) {
    throw new OsmoError(
      'E_CONFIG',
      `${path} belongs to uid ${st.uid}, not to you (uid ${uid}); refusing to use it for process control sockets, since its owner could control them: remove it, or set XDG_RUNTIME_DIR`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new OsmoError(
      'E_CONFIG',
      `${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; process control sockets need a private directory (mode 0700) so that no other user can control your processes: run \`chmod 700 ${path}\``,
    );
  }
}

export function assertSocketPathFits(path: string): void {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new OsmoError(
      'E_CONFIG',
      `process control socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the limit of Unix sockets; set XDG_RUNTIME_DIR to a shorter directory`,
    );
  }
}

export function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}
