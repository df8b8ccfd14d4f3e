/**
 * The deputy's system-call interface: every WASI call that needs the home node's context (files,
 * directories, stdio, sockets) becomes one call on a SyscallBackend. Guest memory never crosses
 * this boundary: the guest-side dispatch (imports.ts) decodes pointers and structs, calls a
 * backend method with plain values, and encodes the result back into guest memory. That is what
 * lets the same dispatch talk to a deputy in this process, in another thread or on another node.
 *
 * Methods return errno (0 = success) or a Result; they never throw. A method may return a Promise
 * when the real operation has to wait (a pipe, a terminal, poll_oneoff).
 */
import type { Dirent, Event, Fdstat, Filestat, Subscription } from './abi.js';

export type MaybePromise<T> = T | Promise<T>;
export type Result<T> = { ok: true; value: T } | { ok: false; errno: number };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}
export function err<T = never>(errno: number): Result<T> {
  return { ok: false, errno };
}

export interface RecvResult {
  size: number;
  roflags: number;
}

export interface SyscallBackend {
  fdAdvise(fd: number, offset: bigint, len: bigint, advice: number): MaybePromise<number>;
  fdAllocate(fd: number, offset: bigint, len: bigint): MaybePromise<number>;
  fdClose(fd: number): MaybePromise<number>;
  fdDatasync(fd: number): MaybePromise<number>;
  fdFdstatGet(fd: number): MaybePromise<Result<Fdstat>>;
  fdFdstatSetFlags(fd: number, flags: number): MaybePromise<number>;
  fdFdstatSetRights(fd: number, base: bigint, inheriting: bigint): MaybePromise<number>;
  fdFilestatGet(fd: number): MaybePromise<Result<Filestat>>;
  fdFilestatSetSize(fd: number, size: bigint): MaybePromise<number>;
  fdFilestatSetTimes(
    fd: number,
    atim: bigint,
    mtim: bigint,
    fstFlags: number,
  ): MaybePromise<number>;
  /** Reads at `offset` into `dest` (up to dest.length bytes); value = bytes read. */
  fdPread(fd: number, dest: Uint8Array, offset: bigint): MaybePromise<Result<number>>;
  /** The guest-visible name of a preopened directory (fd_prestat_get / fd_prestat_dir_name). */
  fdPrestatName(fd: number): MaybePromise<Result<Uint8Array>>;
  fdPwrite(fd: number, data: Uint8Array, offset: bigint): MaybePromise<Result<number>>;
  fdRead(fd: number, dest: Uint8Array): MaybePromise<Result<number>>;
  /**
   * Entries from `cookie` on. Returns at least enough entries to fill `bufLen` bytes of encoded
   * dirents (header + name each) unless the directory ends first; the guest side truncates.
   */
  fdReaddir(fd: number, cookie: bigint, bufLen: number): MaybePromise<Result<Dirent[]>>;
  fdRenumber(from: number, to: number): MaybePromise<number>;
  fdSeek(fd: number, offset: bigint, whence: number): MaybePromise<Result<bigint>>;
  fdSync(fd: number): MaybePromise<number>;
  fdTell(fd: number): MaybePromise<Result<bigint>>;
  fdWrite(fd: number, data: Uint8Array): MaybePromise<Result<number>>;

  pathCreateDirectory(fd: number, path: string): MaybePromise<number>;
  pathFilestatGet(fd: number, lookupFlags: number, path: string): MaybePromise<Result<Filestat>>;
  pathFilestatSetTimes(
    fd: number,
    lookupFlags: number,
    path: string,
    atim: bigint,
    mtim: bigint,
    fstFlags: number,
  ): MaybePromise<number>;
  pathLink(
    oldFd: number,
    oldFlags: number,
    oldPath: string,
    newFd: number,
    newPath: string,
  ): MaybePromise<number>;
  pathOpen(
    fd: number,
    lookupFlags: number,
    path: string,
    oflags: number,
    rightsBase: bigint,
    rightsInheriting: bigint,
    fdflags: number,
  ): MaybePromise<Result<number>>;
  /** The link's full target; the guest side truncates to its buffer. */
  pathReadlink(fd: number, path: string): MaybePromise<Result<Uint8Array>>;
  pathRemoveDirectory(fd: number, path: string): MaybePromise<number>;
  pathRename(fd: number, oldPath: string, newFd: number, newPath: string): MaybePromise<number>;
  pathSymlink(oldPath: string, fd: number, newPath: string): MaybePromise<number>;
  pathUnlinkFile(fd: number, path: string): MaybePromise<number>;

  /**
   * Waits until at least one subscription fires and returns the fired events. Clock
   * subscriptions carry their timeout already converted to a relative delay in nanoseconds
   * (`flags` cleared) by the guest side, which owns the clocks.
   */
  pollOneoff(subscriptions: Subscription[]): MaybePromise<Result<Event[]>>;

  sockAccept(fd: number, flags: number): MaybePromise<Result<number>>;
  sockRecv(fd: number, dest: Uint8Array, riFlags: number): MaybePromise<Result<RecvResult>>;
  sockSend(fd: number, data: Uint8Array, siFlags: number): MaybePromise<Result<number>>;
  sockShutdown(fd: number, how: number): MaybePromise<number>;
}
