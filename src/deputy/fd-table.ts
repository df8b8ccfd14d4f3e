/**
 * The guest's file-descriptor table: which host fd stands behind each guest fd, with the state
 * WASI keeps per descriptor and the host does not (rights, the emulated offset and fdflags, a
 * directory's place below its preopen, a readdir snapshot, a stream's read-ahead).
 */
import { Errno } from '../wasi/abi.js';
import type { Dirent, Filetype } from '../wasi/abi.js';
import type { Result } from '../wasi/backend.js';
import type { ReadReadiness } from './stream-io.js';

/**
 * I/O on an fd that may wait: a host stream (StreamIo) or one the deputy serves itself (a
 * mailbox, mailbox-fds.ts).
 */
export interface FdStream {
  read(dest: Uint8Array, nonblocking: boolean): Result<number> | Promise<Result<number>>;
  write(data: Uint8Array, nonblocking: boolean): Result<number> | Promise<Result<number>>;
  /** What a poll on the read side sees now; undefined = not ready yet. */
  readReadiness(): ReadReadiness | undefined;
  /** Resolves once the read side has an outcome a poll can see. */
  startReadAhead(): Promise<void>;
  /** Makes waiting reads give up without consuming; false when one cannot be taken back. */
  cancelWaits(): boolean;
  close(): void;
  /** False when closing the stream closes the host fd too. */
  readonly ownsHostFd: boolean;
}

/**
 * How the backend does I/O on an fd, decided once from the host fstat when the fd is opened.
 * - file: a regular file (or block device) opened by the guest: positional I/O at the offset the
 *   backend tracks (Node has no lseek).
 * - kfile: a regular file inherited as stdio (`> out`, `< in`): I/O at the kernel's offset, which
 *   is shared with the parent shell (`{ osmo run a; echo b; } > out` must append, not overwrite),
 *   so it is not seekable for the guest.
 * - directory: path operations and readdir.
 * - memdev: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom: never block, so sync I/O.
 * - stream: pipe, FIFO, tty, socket, any other character device: async I/O in the thread pool so
 *   the deputy's event loop never blocks on it.
 */
export type FdKind = 'file' | 'kfile' | 'directory' | 'memdev' | 'stream';

export interface FdEntry {
  hostFd: number;
  kind: FdKind;
  filetype: Filetype;
  /** False for stdio: the host fds 0/1/2 belong to the process, we never close them. */
  ownsHostFd: boolean;
  /** Host path it was opened by ('' for stdio). */
  hostPath: string;
  /** Host path of the preopen this fd lives under (directories and files opened through one). */
  root: string;
  /** Directories: the components from `root` down to this directory (no '.', '..' or links). */
  rel: string[];
  /** Guest-visible name when this fd is a preopen. */
  preopenName: string | undefined;
  /** Emulated file offset (kind 'file'). */
  offset: bigint;
  fdflags: number;
  /** oflags it was opened with (recorded for describeFds / checkpointing). */
  oflags: number;
  rightsBase: bigint;
  rightsInheriting: bigint;
  /** Directories: the listing snapshot fd_readdir pages through. */
  listing: Dirent[] | undefined;
  /** Streams: async reader/writer with the poll read-ahead buffer. */
  stream: FdStream | undefined;
  /**
   * Set for an fd the deputy serves itself (a mailbox; hostFd is −1): what an image records so
   * that a restart can make it again (SpecialFiles.reopen).
   */
  special?: string;
}

export class FdTable {
  private readonly slots: (FdEntry | undefined)[] = [];

  get(fd: number): FdEntry | undefined {
    return this.slots[fd];
  }

  /**
   * The entry for `fd` if it is open and holds every right in `rights`; otherwise the errno
   * (BADF, NOTCAPABLE). Returns a number instead of a Result to keep the hot write path free of
   * allocations.
   */
  lookup(fd: number, rights: bigint): FdEntry | number {
    const e = this.slots[fd];
    if (e === undefined) return Errno.BADF;
    if ((e.rightsBase & rights) !== rights) return Errno.NOTCAPABLE;
    return e;
  }

  /** Places the entry at the lowest free fd number, as POSIX does. */
  insert(entry: FdEntry): number {
    let fd = 0;
    while (this.slots[fd] !== undefined) fd++;
    this.slots[fd] = entry;
    return fd;
  }

  set(fd: number, entry: FdEntry): void {
    while (this.slots.length < fd) this.slots.push(undefined);
    this.slots[fd] = entry;
  }

  remove(fd: number): FdEntry | undefined {
    const e = this.slots[fd];
    if (e === undefined) return undefined;
    this.slots[fd] = undefined;
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) {
      this.slots.pop();
    }
    return e;
  }

  /** Open fds in ascending order. */
  entries(): [number, FdEntry][] {
    const out: [number, FdEntry][] = [];
    this.slots.forEach((e, fd) => {
      if (e !== undefined) out.push([fd, e]);
    });
    return out;
  }
}
