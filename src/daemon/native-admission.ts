/**
 * Whether this node runs a native program (`osmo run -E`, docs/native.md), beyond the checks
 * every guest passes (admission.ts). A native program is not sandboxed: it runs as its user with
 * that user's rights on this node, so a node runs them only when its administrator said so
 * (config `native`), never as root, and only as a user this daemon can become.
 */
import { isAbsolute } from 'node:path';
import { executableOf, hostFiles, missingExecutable } from '../platform/executable-lookup.js';
import type { FileCheck } from '../platform/executable-lookup.js';
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

export function decideNative(
  request: NativeRequest,
  s: NativeHostState,
  files: FileCheck = hostFiles,
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
  if (executableOf(request, files) === undefined)
    return refuse(`${s.node} has ${missingExecutable(request)}`);
  return { ok: true };
}

function refuse(reason: string): Admission {
  return { ok: false, reason };
}
