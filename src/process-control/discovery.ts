/**
 * Finding processes by pid on this node: the socket directory (socket-dir.ts) is the registry.
 * A socket file whose pid is dead is stale (its process was killed before it could remove it)
 * and is removed on sight. A file whose pid lives but where nobody listens is left alone: that
 * pid may have been reused by another program, and removing a socket we did not see die could
 * race with a process that is just starting to listen.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { OsmoError, isOsmoError } from '../core/errors.js';
import { ProcessControlClient, openSocket } from './client.js';
import type { ClientTimeouts } from './client.js';
import { pidExists } from '../platform/pid.js';
import { isPidStopped } from './pid-alive.js';
import { checkSocketDir, pidOfSocketName, resolveSocketDir, socketPath } from './socket-dir.js';
import type { SocketDir, SocketDirOptions } from './socket-dir.js';
import type { ProcessInfo } from './types.js';

export interface DiscoveryOptions extends SocketDirOptions, ClientTimeouts {}

/** Why `listProcesses` left a socket out. */
export type SkipReason =
  /** Its pid is dead; the file was removed. */
  | 'stale'
  /** Nobody listens (the pid lives: probably reused by another program). */
  | 'refused'
  /** No answer within the deadline (a busy or stuck process). */
  | 'timeout'
  /** Stopped (Ctrl-Z, SIGSTOP): it cannot answer until continued, so it was not asked. */
  | 'stopped'
  /** It answered, but not sensibly. */
  | 'error';

export interface ListOptions extends DiscoveryOptions {
  /** Per process: connect + answer `info` within this. Default 2 000. */
  deadlineMs?: number;
  onSkip?: (pid: number, reason: SkipReason, detail: string) => void;
}

export function noProcess(pid: number): OsmoError {
  return new OsmoError(
    'E_NO_PROCESS',
    `no Osmosis process ${pid} of yours on this node (osmo ps lists them)`,
    { details: { pid } },
  );
}

function locate(options: SocketDirOptions): { where: SocketDir; exists: boolean } {
  const where = resolveSocketDir(options);
  // Root may control anyone's processes, given their directory (e.g. XDG_RUNTIME_DIR=/run/user/N).
  return { where, exists: checkSocketDir(where, { anyOwner: where.uid === 0 }) };
}

/** A client for `pid`, or E_NO_PROCESS if no process of this user has that pid here. */
export async function connectProcess(
  pid: number,
  options: DiscoveryOptions = {},
): Promise<ProcessControlClient> {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new OsmoError('E_USAGE', `PID must be a positive integer (got ${String(pid)})`);
  }
  const { where, exists } = locate(options);
  if (!exists) throw noProcess(pid);
  const path = socketPath(where.dir, pid);
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  try {
    const socket = await openSocket(path, connectTimeoutMs);
    return new ProcessControlClient(socket, pid, path, options);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') {
      throw new OsmoError(
        'E_IO',
        `process ${pid} did not accept a control connection within ${connectTimeoutMs} ms`,
      );
    }
    if (code !== 'ENOENT') removeIfStale(path, pid);
    throw noProcess(pid);
  }
}

/** Every process of this user on this node that answers, by pid. */
export async function listProcesses(options: ListOptions = {}): Promise<ProcessInfo[]> {
  const { where, exists } = locate(options);
  if (!exists) return [];
  const deadlineMs = options.deadlineMs ?? 2_000;
  const skip = options.onSkip ?? (() => undefined);
  const pids = readdirSync(where.dir)
    .map(pidOfSocketName)
    .filter((pid): pid is number => pid !== undefined);
  const found = await Promise.all(
    pids.map(async (pid) => {
      const path = socketPath(where.dir, pid);
      if (removeIfStale(path, pid)) {
        skip(pid, 'stale', `removed ${path}`);
        return undefined;
      }
      if (isPidStopped(pid)) {
        skip(pid, 'stopped', `process ${pid} is stopped`);
        return undefined;
      }
      return probe(path, pid, deadlineMs, skip);
    }),
  );
  return found.filter((i): i is ProcessInfo => i !== undefined).sort((a, b) => a.pid - b.pid);
}

async function probe(
  path: string,
  pid: number,
  deadlineMs: number,
  skip: (pid: number, reason: SkipReason, detail: string) => void,
): Promise<ProcessInfo | undefined> {
  const start = performance.now();
  let client: ProcessControlClient | undefined;
  try {
    const socket = await openSocket(path, deadlineMs);
    const left = Math.max(1, Math.round(deadlineMs - (performance.now() - start)));
    client = new ProcessControlClient(socket, pid, path, { infoTimeoutMs: left });
    return await client.info();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : String(e);
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ENOTSOCK') {
      // ENOENT: it exited between readdir and connect.
      if (!removeIfStale(path, pid)) skip(pid, 'refused', message);
      else skip(pid, 'stale', `removed ${path}`);
    } else if (code === 'ETIMEDOUT' || (isOsmoError(e) && e.details?.reason === 'timeout')) {
      skip(pid, 'timeout', `no answer within ${deadlineMs} ms`);
    } else {
      skip(pid, 'error', message);
    }
    return undefined;
  } finally {
    client?.close();
  }
}

/** Removes the socket file if its pid is dead; true if the pid is dead. */
function removeIfStale(path: string, pid: number): boolean {
  // Another user's (EPERM) counts as alive: its socket file is not ours to remove.
  if (pidExists(pid)) return false;
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove: either way not listed
  }
  return true;
}
