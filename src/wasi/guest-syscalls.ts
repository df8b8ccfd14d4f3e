/**
 * The deputy as the guest side sees it: the SyscallBackend calls made synchronous (the guest
 * blocks while its deputy works), with reads returning a view of the bytes read and writes
 * taking the guest's iovecs directly, so data is copied once on its way.
 */
import type { Result, SyscallBackend } from './backend.js';

type Sync<F> = F extends (...args: infer A) => infer R ? (...args: A) => Awaited<R> : never;

type DataCalls = 'fdRead' | 'fdPread' | 'sockRecv' | 'fdWrite' | 'fdPwrite' | 'sockSend';

export type GuestSyscalls = {
  [K in Exclude<keyof SyscallBackend, DataCalls>]: Sync<SyscallBackend[K]>;
} & {
  /** Bytes read (at most `length`); the view is valid until the next call. */
  fdRead(fd: number, length: number): Result<Uint8Array>;
  fdPread(fd: number, length: number, offset: bigint): Result<Uint8Array>;
  sockRecv(
    fd: number,
    length: number,
    riFlags: number,
  ): Result<{ data: Uint8Array; roflags: number }>;
  fdWrite(fd: number, data: readonly Uint8Array[]): Result<number>;
  fdPwrite(fd: number, data: readonly Uint8Array[], offset: bigint): Result<number>;
  sockSend(fd: number, data: readonly Uint8Array[], siFlags: number): Result<number>;
};
