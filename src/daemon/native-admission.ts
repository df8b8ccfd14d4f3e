/**
 * Whether this node runs a native program (`osmo run -E`, docs/native.md), beyond the checks
 * every guest passes (admission.ts). A native program is not sandboxed: it runs as its user with
 * that user's rights on this node, so a node runs them only when its administrator said so
 * (config `native`), never as root, and only as a user this daemon can become.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Admission } from './admission.js';

/** What a home asks of a node for a native program (the `native` part of an admit request). */
export interface NativeRequest {
  /** As the user gave it: a path (absolute, or relative to cwd) or a name looked up in PATH. */
  readonly program: string;
  /** Absolute directory it runs in. */
  readonly cwd: string;
  /** The user it runs as, proved to its home daemon (native-tickets.ts). */
  readonly uid: number;
  readonly gid: number;
  /** The user's PATH, where a bare name is looked up. */
  readonly path: string;
}

export interface NativeHostState {
  readonly node: string;
  /** Config `native`: this node's administrator lets it run native programs. */
  readonly acceptNative: boolean;
  /** The daemon's own uid: only root may run a program as another user. */
  readonly daemonUid: number;
}

/** Ways the file system is asked (tests give a fake). */
export interface NativeFileCheck {
  isDirectory(path: string): boolean;
  /** A regular file with an execute bit. */
  isExecutable(path: string): boolean;
}

export const hostFiles: NativeFileCheck = {
  isDirectory: (path) => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  isExecutable: (path) => {
    try {
      if (!statSync(path).isFile()) return false;
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

export function decideNative(
  request: NativeRequest,
  s: NativeHostState,
  files: NativeFileCheck = hostFiles,
): Admission {
  if (!s.acceptNative)
    return refuse(`${s.node} does not run native programs (its daemon config has native off)`);
  if (request.uid === 0) return refuse(`${s.node} never runs a native program of root`);
  if (s.daemonUid !== 0 && request.uid !== s.daemonUid) {
    return refuse(
      `${s.node}'s daemon runs as uid ${s.daemonUid} and can run native programs of that user only, not of uid ${request.uid}`,
    );
  }
  if (!isAbsolute(request.cwd) || !files.isDirectory(request.cwd))
    return refuse(`${s.node} has no directory ${request.cwd} to run ${request.program} in`);
  if (executableOf(request, files) === undefined) {
    return refuse(
      request.program.includes('/')
        ? `${s.node} has no executable ${resolve(request.cwd, request.program)}`
        : `${s.node} has no executable ${request.program} in PATH`,
    );
  }
  return { ok: true };
}

/** The file that would run: the path given, or the first match in PATH (as execvp looks). */
export function executableOf(
  request: Pick<NativeRequest, 'program' | 'cwd' | 'path'>,
  files: NativeFileCheck,
): string | undefined {
  if (request.program.includes('/')) {
    const file = resolve(request.cwd, request.program);
    return files.isExecutable(file) ? file : undefined;
  }
  for (const dir of request.path.split(delimiter)) {
    const file = join(resolve(request.cwd, dir === '' ? '.' : dir), request.program);
    if (files.isExecutable(file)) return file;
  }
  return undefined;
}

function refuse(reason: string): Admission {
  return { ok: false, reason };
}
