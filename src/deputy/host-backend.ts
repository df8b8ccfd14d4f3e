/**
 * HostBackend: the deputy's real SyscallBackend, serving a guest's WASI calls against the host's
 * file system and stdio. It runs on the main thread of `osmo run`, so nothing here may block the
 * event loop for long: regular files, directories and memory devices use sync fs calls (fast,
 * bounded), everything that can wait (pipes, ttys, sockets, FIFO opens) goes to the thread pool
 * (stream-io.ts) or to a timer (poll.ts).
 *
 * Decisions the rest of the system relies on:
 * - Offsets of regular files are tracked here; every read/write is positional. O_APPEND is
 *   emulated (write at fstat size, offset = new end); it is not atomic against other host
 *   processes appending to the same file.
 * - FDFLAGS_SYNC / DSYNC are emulated by fsync / fdatasync after every write to a file; RSYNC is
 *   recorded only (reads are served from the page cache as usual). NONBLOCK is recorded and makes
 *   reads/writes on streams return AGAIN instead of waiting.
 * - Stdio regular files use the kernel offset shared with the parent and are not seekable.
 * - path_symlink refuses absolute targets (NOTCAPABLE) although they would be harmless until
 *   followed: a link that can never be followed inside the sandbox is only a trap for the guest.
 *   Exception: below a preopen of the host's `/`, where absolute targets resolve (path-resolve).
 * - pwrite on an APPEND fd writes at the given offset (POSIX), not at the end (Linux's quirk).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { OsmoError } from '../core/errors.js';
import {
  Advice,
  Errno,
  Fdflags,
  FDFLAGS_ALL,
  Filetype,
  Lookupflags,
  Oflags,
  OFLAGS_ALL,
  Rights,
  RIGHTS_DIRECTORY,
  RIGHTS_DIRECTORY_INHERITING,
  Whence,
} from '../wasi/abi.js';
import type { Dirent, Event, Fdstat, Filestat, Subscription } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { MaybePromise, RecvResult, Result, SyscallBackend } from '../wasi/backend.js';
import { classify } from './fd-classify.js';
import { FdTable } from './fd-table.js';
import type { FdEntry, FdKind } from './fd-table.js';
import { filestatOf, timesToSet } from './filestat.js';
import { errnoFromError, hostCode } from './host-errno.js';
import { hostPathOf, isDotLast, isHostRoot, resolvePath } from './path-resolve.js';
import type { Resolved } from './path-resolve.js';
import { Poller } from './poll.js';
import { pageDirectory, snapshotDirectory } from './readdir.js';
import type { SpecialFiles } from './special-files.js';
import { StreamIo } from './stream-io.js';

export interface HostBackendOptions {
  /** Become guest fds 3, 4, ... in this order. */
  /** Become fds 3, 4, … in this order. `root` (default: hostPath) is where `..` stops. */
  preopens: { guestPath: string; hostPath: string; root?: string }[];
  /** Host fds behind guest fds 0, 1, 2; default [0, 1, 2]. */
  stdio?: [number, number, number];
  /** Files the deputy serves itself (mailboxes). */
  special?: SpecialFiles;
}

/** One open fd as plain JSON, enough to reopen it by path at its offset after a migration. */
export interface FdDescription {
  fd: number;
  kind: FdKind;
  filetype: number;
  /** True for stdio: the host fd was inherited, not opened by path. */
  stdio: boolean;
  hostFd: number;
  /** Host path it was opened by ('' for stdio). */
  hostPath: string;
  /** Preopens only: the guest-visible name. */
  guestPath?: string;
  /** Directories and files opened below a preopen: the preopen's host path. */
  root?: string;
  /** Decimal string (a bigint). */
  offset: string;
  fdflags: number;
  rightsBase: string;
  rightsInheriting: string;
  /** The oflags it was opened with (drop CREAT/EXCL/TRUNC when reopening). */
  oflags: number;
  /** An fd the deputy serves itself (SpecialFiles), made again by that name on a restart. */
  special?: string;
}

const SEEKABLE: ReadonlySet<FdKind> = new Set(['file', 'memdev']);
const MAX_OFFSET = (1n << 63n) - 1n;
/** Rights that need the host fd open for writing. */
const WRITE_RIGHTS = Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE;
const READ_RIGHTS = Rights.FD_READ | Rights.FD_READDIR;
/** Node's fs.writeSync/ftruncateSync take offsets as numbers. */
const MAX_NUMBER_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

function isErrno(x: FdEntry | number): x is number {
  return typeof x === 'number';
}

export class HostBackend implements SyscallBackend {
  private readonly table = new FdTable();
  private readonly poller = new Poller(this.table);
  private readonly special: SpecialFiles | undefined;

  constructor(options: HostBackendOptions) {
    this.special = options.special;
    const stdio = options.stdio ?? [0, 1, 2];
    stdio.forEach((hostFd, fd) => {
      let st: fs.BigIntStats;
      try {
        st = fs.fstatSync(hostFd, { bigint: true });
      } catch {
        return; // a closed stdio fd stays closed for the guest (BADF)
      }
      const c = classify(st, true);
      this.table.set(fd, {
        hostFd,
        kind: c.kind,
        filetype: c.filetype,
        ownsHostFd: false,
        hostPath: '',
        root: '',
        rel: [],
        preopenName: undefined,
        offset: 0n,
        fdflags: 0,
        oflags: 0,
        rightsBase: c.rights,
        rightsInheriting: 0n,
        listing: undefined,
        stream: c.kind === 'stream' ? new StreamIo(hostFd) : undefined,
      });
    });
    for (const p of options.preopens) {
      // A preopen is an entry point below its walk root: by default the directory itself; in
      // osmo run's default view every entry point shares the root `/` (one namespace).
      const root = nodePath.resolve(p.root ?? p.hostPath);
      let hostFd: number;
      let hostPath = root;
      let rel: string[] = [];
      try {
        if (p.root !== undefined) {
          hostPath = fs.realpathSync(nodePath.resolve(p.hostPath));
          rel = nodePath
            .relative(root, hostPath)
            .split(nodePath.sep)
            .filter((c) => c !== '');
          if (rel[0] === '..')
            throw Object.assign(new Error(`${hostPath} is not below ${root}`), { code: 'EINVAL' });
        }
        hostFd = openDirectory(hostPath);
      } catch (e) {
        this.closeAll();
        throw new OsmoError(
          hostCode(e) === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO',
          `cannot preopen ${p.hostPath} as ${p.guestPath}: ${hostCode(e) ?? String(e)}`,
          { cause: e },
        );
      }
      this.table.set(this.nextAfter(), {
        hostFd,
        kind: 'directory',
        filetype: Filetype.DIRECTORY,
        ownsHostFd: true,
        hostPath,
        root,
        rel,
        preopenName: p.guestPath,
        offset: 0n,
        fdflags: 0,
        oflags: Oflags.DIRECTORY,
        rightsBase: RIGHTS_DIRECTORY,
        rightsInheriting: RIGHTS_DIRECTORY_INHERITING,
        listing: undefined,
        stream: undefined,
      });
    }
  }

  /**
   * Suspension: makes every read and poll still waiting give up without consuming data (a
   * cancelled poll settles with CANCELED). False when some wait cannot be taken back (a read in
   * the thread pool); the caller then lets it finish instead.
   */
  cancelWaits(): boolean {
    let safe = true;
    for (const [, e] of this.table.entries()) if (e.stream && !e.stream.cancelWaits()) safe = false;
    if (safe) this.poller.cancelAll();
    return safe;
  }

  /** The host path an fd was opened by (undefined for a closed fd; '' for stdio). */
  hostPathOf(fd: number): string | undefined {
    return this.table.get(fd)?.hostPath;
  }

  /** Closes every host fd this backend opened (never the stdio fds) and settles pending polls. */
  closeAll(): void {
    this.poller.cancelAll();
    for (const [fd] of this.table.entries()) this.closeFd(fd);
  }

  /**
   * Whether a write to `fd` may be answered before it is done (a program running on another
   * node then need not wait a round trip per write): stdout/stderr unless a directory, and
   * regular files open for writing — except files under `exceptUnder` (control files such as
   * /proc/self/checkpoint, whose writes act). A failure is then told by the next write, sync or
   * close.
   */
  writeCanBePipelined(fd: number, exceptUnder?: string): boolean {
    const e = this.table.lookup(fd, Rights.FD_WRITE);
    if (isErrno(e) || e.special !== undefined) return false; // a mailbox write waits for its receiver
    if (!e.ownsHostFd) return (fd === 1 || fd === 2) && e.filetype !== Filetype.DIRECTORY;
    if (isUnder(e.hostPath, exceptUnder)) return false;
    return e.filetype === Filetype.REGULAR_FILE;
  }

  /**
   * The offset of `fd` if bytes of it may be read ahead for a program away (a regular file open
   * for reading, not a control file under `exceptUnder`, whose reads act); else undefined.
   */
  readAheadOffset(fd: number, exceptUnder?: string): bigint | undefined {
    const e = this.table.lookup(fd, Rights.FD_READ);
    if (isErrno(e) || e.kind !== 'file' || e.filetype !== Filetype.REGULAR_FILE) return undefined;
    if (isUnder(e.hostPath, exceptUnder)) return undefined;
    return e.offset;
  }

  /** Reads `fd` at `at` into `dest` without moving its offset (read-ahead); 0 on any failure. */
  readAheadAt(fd: number, dest: Uint8Array, at: bigint): number {
    const e = this.table.get(fd);
    if (e?.kind !== 'file') return 0;
    try {
      return fs.readSync(e.hostFd, dest, 0, dest.length, at);
    } catch {
      return 0; // the read itself will meet the error and report it
    }
  }

  /** Every fd whose writes may be pipelined now (see {@link writeCanBePipelined}). */
  pipelinableFds(exceptUnder?: string): number[] {
    return this.table
      .entries()
      .map(([fd]) => fd)
      .filter((fd) => this.writeCanBePipelined(fd, exceptUnder));
  }

  describeFds(): FdDescription[] {
    return this.table.entries().map(([fd, e]) => {
      const d: FdDescription = {
        fd,
        kind: e.kind,
        filetype: e.filetype,
        stdio: !e.ownsHostFd && e.special === undefined,
        hostFd: e.hostFd,
        hostPath: e.hostPath,
        offset: e.offset.toString(),
        fdflags: e.fdflags,
        rightsBase: e.rightsBase.toString(),
        rightsInheriting: e.rightsInheriting.toString(),
        oflags: e.oflags,
      };
      if (e.preopenName !== undefined) d.guestPath = e.preopenName;
      if (e.root !== '') d.root = e.root;
      if (e.special !== undefined) d.special = e.special;
      return d;
    });
  }

  // ---- fd operations ----

  fdAdvise(fd: number, offset: bigint, len: bigint, advice: number): number {
    const e = this.table.lookup(fd, Rights.FD_ADVISE);
    if (isErrno(e)) return e;
    if (advice < Advice.NORMAL || advice > Advice.NOREUSE) return Errno.INVAL;
    if (offset < 0n || len < 0n) return Errno.INVAL;
    return 0; // advisory only; Node has no posix_fadvise
  }

  fdAllocate(fd: number, offset: bigint, len: bigint): number {
    const e = this.table.lookup(fd, Rights.FD_ALLOCATE);
    if (isErrno(e)) return e;
    if (offset < 0n || len <= 0n) return Errno.INVAL;
    if (e.kind !== 'file' && e.kind !== 'kfile')
      return e.kind === 'stream' ? Errno.SPIPE : Errno.NODEV;
    const end = offset + len;
    if (end > MAX_NUMBER_OFFSET) return Errno.FBIG;
    try {
      const size = fs.fstatSync(e.hostFd, { bigint: true }).size;
      if (end > size) fs.ftruncateSync(e.hostFd, Number(end));
      return 0;
    } catch (x) {
      return errnoFromError(x);
    }
  }

  fdClose(fd: number): number {
    if (this.table.get(fd) === undefined) return Errno.BADF;
    return this.closeFd(fd);
  }

  fdDatasync(fd: number): number {
    return this.sync(fd, Rights.FD_DATASYNC, true);
  }

  fdSync(fd: number): number {
    return this.sync(fd, Rights.FD_SYNC, false);
  }

  fdFdstatGet(fd: number): Result<Fdstat> {
    const e = this.table.get(fd);
    if (e === undefined) return err(Errno.BADF);
    return ok({
      filetype: e.filetype,
      flags: e.fdflags,
      rightsBase: e.rightsBase,
      rightsInheriting: e.rightsInheriting,
    });
  }

  fdFdstatSetFlags(fd: number, flags: number): number {
    const e = this.table.lookup(fd, Rights.FD_FDSTAT_SET_FLAGS);
    if (isErrno(e)) return e;
    if ((flags & ~FDFLAGS_ALL) !== 0) return Errno.INVAL;
    e.fdflags = flags;
    return 0;
  }

  fdFdstatSetRights(fd: number, base: bigint, inheriting: bigint): number {
    const e = this.table.get(fd);
    if (e === undefined) return Errno.BADF;
    // Rights can only be dropped, never regained.
    if ((base & ~e.rightsBase) !== 0n || (inheriting & ~e.rightsInheriting) !== 0n) {
      return Errno.NOTCAPABLE;
    }
    e.rightsBase = base;
    e.rightsInheriting = inheriting;
    return 0;
  }

  fdFilestatGet(fd: number): Result<Filestat> {
    const e = this.table.lookup(fd, Rights.FD_FILESTAT_GET);
    if (isErrno(e)) return err(e);
    if (e.special !== undefined) return ok(specialFilestat(e.filetype));
    try {
      return ok(filestatOf(fs.fstatSync(e.hostFd, { bigint: true }), e.filetype));
    } catch (x) {
      return err(errnoFromError(x));
    }
  }

  fdFilestatSetSize(fd: number, size: bigint): number {
    const e = this.table.lookup(fd, Rights.FD_FILESTAT_SET_SIZE);
    if (isErrno(e)) return e;
    if (size < 0n) return Errno.INVAL;
    if (size > MAX_NUMBER_OFFSET) return Errno.FBIG;
    if (e.kind === 'directory') return Errno.ISDIR;
    if (e.kind === 'stream') return Errno.INVAL;
    try {
      fs.ftruncateSync(e.hostFd, Number(size));
      return 0;
    } catch (x) {
      return errnoFromError(x);
    }
  }

  fdFilestatSetTimes(fd: number, atim: bigint, mtim: bigint, fstFlags: number): number {
    const e = this.table.lookup(fd, Rights.FD_FILESTAT_SET_TIMES);
    if (isErrno(e)) return e;
    try {
      const t = timesToSet(fs.fstatSync(e.hostFd, { bigint: true }), atim, mtim, fstFlags);
      if (!t.ok) return t.errno;
      fs.futimesSync(e.hostFd, t.value.atime, t.value.mtime);
      return 0;
    } catch (x) {
      return errnoFromError(x);
    }
  }

  fdPread(fd: number, dest: Uint8Array, offset: bigint): Result<number> {
    const e = this.table.lookup(fd, Rights.FD_READ);
    if (isErrno(e)) return err(e);
    if (!SEEKABLE.has(e.kind)) return err(e.kind === 'directory' ? Errno.ISDIR : Errno.SPIPE);
    if ((e.rightsBase & Rights.FD_SEEK) === 0n) return err(Errno.NOTCAPABLE);
    if (offset < 0n || offset > MAX_OFFSET) return err(Errno.INVAL);
    try {
      const pos = e.kind === 'memdev' ? null : offset;
      return ok(fs.readSync(e.hostFd, dest, 0, dest.length, pos));
    } catch (x) {
      return err(errnoFromError(x));
    }
  }

  fdPwrite(fd: number, data: Uint8Array, offset: bigint): Result<number> {
    const e = this.table.lookup(fd, Rights.FD_WRITE);
    if (isErrno(e)) return err(e);
    if (!SEEKABLE.has(e.kind)) return err(e.kind === 'directory' ? Errno.ISDIR : Errno.SPIPE);
    if ((e.rightsBase & Rights.FD_SEEK) === 0n) return err(Errno.NOTCAPABLE);
    if (offset < 0n) return err(Errno.INVAL);
    if (offset + BigInt(data.length) > MAX_NUMBER_OFFSET) return err(Errno.FBIG);
    try {
      const pos = e.kind === 'memdev' ? null : Number(offset);
      const n = fs.writeSync(e.hostFd, data, 0, data.length, pos);
      this.afterWrite(e);
      return ok(n);
    } catch (x) {
      return err(errnoFromError(x));
    }
  }

  fdPrestatName(fd: number): Result<Uint8Array> {
    const e = this.table.get(fd);
    if (e?.preopenName === undefined) return err(Errno.BADF);
    return ok(new TextEncoder().encode(e.preopenName));
  }

  fdRead(fd: number, dest: Uint8Array): MaybePromise<Result<number>> {
    const e = this.table.lookup(fd, Rights.FD_READ);
    if (isErrno(e)) return err(e);
    try {
      switch (e.kind) {
        case 'file': {
          const n = fs.readSync(e.hostFd, dest, 0, dest.length, e.offset);
          e.offset += BigInt(n);
          return ok(n);
        }
        case 'kfile':
        case 'memdev':
          return ok(fs.readSync(e.hostFd, dest, 0, dest.length, null));
        case 'directory':
          return err(Errno.ISDIR);
        case 'stream':
          return e.stream!.read(dest, (e.fdflags & Fdflags.NONBLOCK) !== 0);
      }
    } catch (x) {
      return err(errnoFromError(x));
    }
  }

  fdReaddir(fd: number, cookie: bigint, bufLen: number): Result<Dirent[]> {
    const e = this.table.lookup(fd, Rights.FD_READDIR);
    if (isErrno(e)) return err(e);
    if (e.kind !== 'directory') return err(Errno.NOTDIR);
    if (cookie === 0n || e.listing === undefined) {
      try {
        e.listing = snapshotDirectory(e.hostFd, e.hostPath);
      } catch (x) {
        return err(errnoFromError(x));
      }
    }
    return ok(pageDirectory(e.listing, cookie, bufLen));
  }

  fdRenumber(from: number, to: number): number {
    const src = this.table.get(from);
    if (src === undefined || this.table.get(to) === undefined) return Errno.BADF;
    if (from === to) return 0;
    this.closeFd(to);
    this.table.remove(from);
    this.table.set(to, src);
    return 0;
  }

  fdSeek(fd: number, offset: bigint, whence: number): Result<bigint> {
    const e = this.table.get(fd);
    if (e === undefined) return err(Errno.BADF);
    if (!SEEKABLE.has(e.kind)) return err(e.kind === 'directory' ? Errno.NOTCAPABLE : Errno.SPIPE);
    // lseek(fd, 0, SEEK_CUR) is how libc asks for the offset: that only needs FD_TELL.
    const need = offset === 0n && whence === Whence.CUR ? Rights.FD_TELL : Rights.FD_SEEK;
    if ((e.rightsBase & need) !== need) return err(Errno.NOTCAPABLE);
    if (whence !== Whence.SET && whence !== Whence.CUR && whence !== Whence.END) {
      return err(Errno.INVAL);
    }
    if (e.kind === 'memdev') return ok(0n); // as Linux: seeking /dev/null always yields 0
    let base = 0n;
    if (whence === Whence.CUR) base = e.offset;
    else if (whence === Whence.END) {
      try {
        base = fs.fstatSync(e.hostFd, { bigint: true }).size;
      } catch (x) {
        return err(errnoFromError(x));
      }
    }
    const next = base + offset;
    if (next < 0n || next > MAX_OFFSET) return err(Errno.INVAL);
    e.offset = next;
    return ok(next);
  }

  fdTell(fd: number): Result<bigint> {
    const e = this.table.get(fd);
    if (e === undefined) return err(Errno.BADF);
    if (!SEEKABLE.has(e.kind)) return err(e.kind === 'directory' ? Errno.NOTCAPABLE : Errno.SPIPE);
    if ((e.rightsBase & Rights.FD_TELL) === 0n) return err(Errno.NOTCAPABLE);
    return ok(e.kind === 'memdev' ? 0n : e.offset);
  }

  fdWrite(fd: number, data: Uint8Array): MaybePromise<Result<number>> {
    const e = this.table.lookup(fd, Rights.FD_WRITE);
    if (isErrno(e)) return err(e);
    try {
      switch (e.kind) {
        case 'file': {
          let at = e.offset;
          if ((e.fdflags & Fdflags.APPEND) !== 0) {
            at = fs.fstatSync(e.hostFd, { bigint: true }).size;
          }
          if (at + BigInt(data.length) > MAX_NUMBER_OFFSET) return err(Errno.FBIG);
          const n = fs.writeSync(e.hostFd, data, 0, data.length, Number(at));
          e.offset = at + BigInt(n);
          this.afterWrite(e);
          return ok(n);
        }
        case 'kfile':
        case 'memdev': {
          const n = fs.writeSync(e.hostFd, data, 0, data.length, null);
          if (e.kind === 'kfile') this.afterWrite(e);
          return ok(n);
        }
        case 'directory':
          return err(Errno.ISDIR);
        case 'stream':
          return e.stream!.write(data, (e.fdflags & Fdflags.NONBLOCK) !== 0);
      }
    } catch (x) {
      return err(errnoFromError(x));
    }
  }

  // ---- path operations ----

  pathCreateDirectory(fd: number, path: string): number {
    const r = this.resolve(fd, Rights.PATH_CREATE_DIRECTORY, path, false);
    if (!r.ok) return r.errno;
    if (isDotLast(r.value) || r.value.stat !== undefined) return Errno.EXIST;
    return this.hostOp(() => fs.mkdirSync(r.value.hostPath, 0o777));
  }

  pathFilestatGet(fd: number, lookupFlags: number, path: string): Result<Filestat> {
    const r = this.resolve(fd, Rights.PATH_FILESTAT_GET, path, follows(lookupFlags));
    if (!r.ok) return r;
    if (r.value.stat === undefined) return err(Errno.NOENT);
    return ok(filestatOf(r.value.stat));
  }

  pathFilestatSetTimes(
    fd: number,
    lookupFlags: number,
    path: string,
    atim: bigint,
    mtim: bigint,
    fstFlags: number,
  ): number {
    const r = this.resolve(fd, Rights.PATH_FILESTAT_SET_TIMES, path, follows(lookupFlags));
    if (!r.ok) return r.errno;
    const st = r.value.stat;
    if (st === undefined) return Errno.NOENT;
    const t = timesToSet(st, atim, mtim, fstFlags);
    if (!t.ok) return t.errno;
    // The walk already expanded a followed link, so only an unfollowed link is left to lutimes.
    const set = st.isSymbolicLink() ? fs.lutimesSync : fs.utimesSync;
    return this.hostOp(() => set(r.value.hostPath, t.value.atime, t.value.mtime));
  }

  pathLink(
    oldFd: number,
    oldFlags: number,
    oldPath: string,
    newFd: number,
    newPath: string,
  ): number {
    const from = this.resolve(oldFd, Rights.PATH_LINK_SOURCE, oldPath, follows(oldFlags));
    if (!from.ok) return from.errno;
    const to = this.resolve(newFd, Rights.PATH_LINK_TARGET, newPath, false);
    if (!to.ok) return to.errno;
    if (from.value.stat === undefined) return Errno.NOENT;
    if (from.value.stat.isDirectory()) return Errno.PERM;
    if (isDotLast(to.value) || to.value.stat !== undefined) return Errno.EXIST;
    if (to.value.trailingSlash) return Errno.NOENT;
    return this.hostOp(() => fs.linkSync(from.value.hostPath, to.value.hostPath));
  }

  pathOpen(
    fd: number,
    lookupFlags: number,
    path: string,
    oflags: number,
    rightsBase: bigint,
    rightsInheriting: bigint,
    fdflags: number,
  ): MaybePromise<Result<number>> {
    if ((oflags & ~OFLAGS_ALL) !== 0 || (fdflags & ~FDFLAGS_ALL) !== 0) return err(Errno.INVAL);
    const creat = (oflags & Oflags.CREAT) !== 0;
    const excl = (oflags & Oflags.EXCL) !== 0;
    const trunc = (oflags & Oflags.TRUNC) !== 0;
    const wantDir = (oflags & Oflags.DIRECTORY) !== 0;
    // As on Linux >= 6.4: O_CREAT | O_DIRECTORY is never meaningful.
    if (creat && wantDir) return err(Errno.INVAL);
    let need = Rights.PATH_OPEN;
    if (creat) need |= Rights.PATH_CREATE_FILE;
    if (trunc) need |= Rights.PATH_FILESTAT_SET_SIZE;
    const dir = this.dirEntry(fd, need);
    if (isErrno(dir)) return err(dir);
    if ((rightsBase & ~dir.rightsInheriting) !== 0n) return err(Errno.NOTCAPABLE);
    if ((rightsInheriting & ~dir.rightsInheriting) !== 0n) return err(Errno.NOTCAPABLE);
    const wantsWrite = (rightsBase & WRITE_RIGHTS) !== 0n;
    const special = this.special?.open(dir.hostPath, path, {
      read: (rightsBase & READ_RIGHTS) !== 0n,
      write: wantsWrite,
    });
    if (special !== undefined) {
      if (!special.ok) return special;
      return ok(this.table.insert(specialEntry(special.value, rightsBase, oflags, fdflags)));
    }

    const r = resolvePath(dir, path, follows(lookupFlags));
    if (!r.ok) return r;
    const { stat, hostPath } = r.value;
    const C = fs.constants;
    let flags: number;
    if (stat !== undefined) {
      if (creat && excl) return err(Errno.EXIST);
      if (stat.isSymbolicLink()) return err(Errno.LOOP); // only reachable without SYMLINK_FOLLOW
      if (wantDir && !stat.isDirectory()) return err(Errno.NOTDIR);
      // open(dir, O_RDWR) is EISDIR, but with O_DIRECTORY the caller plainly wants the directory
      // and write rights are only intersected away (what wasmtime does for RIGHTS_ALL).
      if (stat.isDirectory() && ((wantsWrite && !wantDir) || trunc)) return err(Errno.ISDIR);
    } else {
      if (!creat) return err(Errno.NOENT);
      if (r.value.trailingSlash) return err(Errno.ISDIR);
    }
    if (stat?.isDirectory() === true) {
      flags = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
    } else {
      const wantsRead = (rightsBase & READ_RIGHTS) !== 0n;
      flags = wantsWrite ? (wantsRead ? C.O_RDWR : C.O_WRONLY) : C.O_RDONLY;
      flags |= C.O_NOFOLLOW;
      if (creat) flags |= C.O_CREAT;
      if (excl) flags |= C.O_EXCL;
      if (trunc) flags |= C.O_TRUNC;
      if (wantDir) flags |= C.O_DIRECTORY;
    }
    const adopt = (hostFd: number): Result<number> =>
      this.adoptOpened(hostFd, dir, r.value, oflags, rightsBase, rightsInheriting, fdflags);

    // Opening a FIFO or a terminal can wait for the other side: do it in the thread pool.
    const mayBlock =
      stat !== undefined && (stat.isFIFO() || stat.isCharacterDevice() || stat.isSocket());
    if (mayBlock) {
      return new Promise((resolve) => {
        fs.open(hostPath, flags, 0o666, (x, hostFd) => {
          resolve(x === null ? adopt(hostFd) : err(errnoFromError(x)));
        });
      });
    }
    try {
      // O_NONBLOCK guards the sync open against a file swapped for a FIFO since the lstat: the
      // open then fails or returns at once instead of hanging the event loop. It changes nothing
      // for regular files and directories.
      return adopt(fs.openSync(hostPath, flags | C.O_NONBLOCK, 0o666));
    } catch (x) {
      return err(errnoFromError(x));
    }
  }

  pathReadlink(fd: number, path: string): Result<Uint8Array> {
    const r = this.resolve(fd, Rights.PATH_READLINK, path, false);
    if (!r.ok) return r;
    if (r.value.stat === undefined) return err(Errno.NOENT);
    if (!r.value.stat.isSymbolicLink()) return err(Errno.INVAL);
    try {
      return ok(new Uint8Array(fs.readlinkSync(r.value.hostPath, { encoding: 'buffer' })));
    } catch (x) {
      return err(errnoFromError(x));
    }
  }

  pathRemoveDirectory(fd: number, path: string): number {
    const r = this.resolve(fd, Rights.PATH_REMOVE_DIRECTORY, path, false);
    if (!r.ok) return r.errno;
    if (r.value.last === '.') return Errno.INVAL;
    if (r.value.last === '..') return Errno.NOTEMPTY;
    if (r.value.stat === undefined) return Errno.NOENT;
    if (!r.value.stat.isDirectory()) return Errno.NOTDIR;
    return this.hostOp(() => fs.rmdirSync(r.value.hostPath));
  }

  pathRename(fd: number, oldPath: string, newFd: number, newPath: string): number {
    const from = this.resolve(fd, Rights.PATH_RENAME_SOURCE, oldPath, false);
    if (!from.ok) return from.errno;
    const to = this.resolve(newFd, Rights.PATH_RENAME_TARGET, newPath, false);
    if (!to.ok) return to.errno;
    if (isDotLast(from.value) || isDotLast(to.value)) return Errno.BUSY;
    const st = from.value.stat;
    if (st === undefined) return Errno.NOENT;
    if ((from.value.trailingSlash || to.value.trailingSlash) && !st.isDirectory()) {
      return Errno.NOTDIR;
    }
    return this.hostOp(() => fs.renameSync(from.value.hostPath, to.value.hostPath));
  }

  pathSymlink(oldPath: string, fd: number, newPath: string): number {
    const dir = this.dirEntry(fd, Rights.PATH_SYMLINK);
    if (isErrno(dir)) return dir;
    if (oldPath === '') return Errno.NOENT;
    if (oldPath.includes('\0')) return Errno.INVAL;
    // See the file comment; under a preopen of the host's `/` it would be followable, so allowed.
    if (oldPath.startsWith('/') && !isHostRoot(dir.root)) return Errno.NOTCAPABLE;
    const r = resolvePath(dir, newPath, false);
    if (!r.ok) return r.errno;
    if (isDotLast(r.value) || r.value.stat !== undefined) return Errno.EXIST;
    if (r.value.trailingSlash) return Errno.NOENT;
    return this.hostOp(() => fs.symlinkSync(oldPath, r.value.hostPath));
  }

  pathUnlinkFile(fd: number, path: string): number {
    const r = this.resolve(fd, Rights.PATH_UNLINK_FILE, path, false);
    if (!r.ok) return r.errno;
    if (isDotLast(r.value)) return Errno.ISDIR;
    const st = r.value.stat;
    if (st === undefined) return Errno.NOENT;
    // Linux says EISDIR, POSIX and macOS say EPERM: the guest always sees ISDIR.
    if (st.isDirectory()) return Errno.ISDIR;
    return this.hostOp(() => fs.unlinkSync(r.value.hostPath));
  }

  // ---- poll and sockets ----

  pollOneoff(subscriptions: Subscription[]): MaybePromise<Result<Event[]>> {
    return this.poller.poll(subscriptions);
  }

  sockAccept(fd: number, _flags: number): Result<number> {
    return err(this.notSocket(fd));
  }

  sockRecv(fd: number, _dest: Uint8Array, _riFlags: number): Result<RecvResult> {
    return err(this.notSocket(fd));
  }

  sockSend(fd: number, _data: Uint8Array, _siFlags: number): Result<number> {
    return err(this.notSocket(fd));
  }

  sockShutdown(fd: number, _how: number): number {
    return this.notSocket(fd);
  }

  // ---- helpers ----

  /** No socket fds exist yet: BADF for a closed fd, NOTSOCK for any other. */
  private notSocket(fd: number): number {
    return this.table.get(fd) === undefined ? Errno.BADF : Errno.NOTSOCK;
  }

  /** Lowest fd >= 3 that is free (preopens start at 3 even if stdio slots are empty). */
  private nextAfter(): number {
    let fd = 3;
    while (this.table.get(fd) !== undefined) fd++;
    return fd;
  }

  private closeFd(fd: number): number {
    const e = this.table.remove(fd);
    if (e === undefined) return Errno.BADF;
    const streamClosesFd = e.stream !== undefined && !e.stream.ownsHostFd;
    e.stream?.close();
    e.listing = undefined;
    if (!e.ownsHostFd || streamClosesFd) return 0;
    try {
      fs.closeSync(e.hostFd);
      return 0;
    } catch (x) {
      return errnoFromError(x);
    }
  }

  private sync(fd: number, right: bigint, dataOnly: boolean): number {
    const e = this.table.lookup(fd, right);
    if (isErrno(e)) return e;
    // Linux: fsync on a pipe, socket or character device is EINVAL.
    if (e.kind === 'stream' || e.kind === 'memdev') return Errno.INVAL;
    return this.hostOp(() => (dataOnly ? fs.fdatasyncSync(e.hostFd) : fs.fsyncSync(e.hostFd)));
  }

  /** FDFLAGS_SYNC / DSYNC emulation (see the file comment). */
  private afterWrite(e: FdEntry): void {
    if ((e.fdflags & Fdflags.SYNC) !== 0) fs.fsyncSync(e.hostFd);
    else if ((e.fdflags & Fdflags.DSYNC) !== 0) fs.fdatasyncSync(e.hostFd);
  }

  /** An open directory fd holding `rights`, or the errno. */
  private dirEntry(fd: number, rights: bigint): FdEntry | number {
    // NOTDIR before NOTCAPABLE: a file fd lacks every PATH_* right, but the real fault is that
    // it is not a directory (what openat says too).
    const e = this.table.get(fd);
    if (e === undefined) return Errno.BADF;
    if (e.kind !== 'directory') return Errno.NOTDIR;
    return (e.rightsBase & rights) === rights ? e : Errno.NOTCAPABLE;
  }

  private resolve(fd: number, rights: bigint, path: string, follow: boolean): Result<Resolved> {
    const dir = this.dirEntry(fd, rights);
    if (isErrno(dir)) return err(dir);
    return resolvePath(dir, path, follow);
  }

  private hostOp(op: () => void): number {
    try {
      op();
      return 0;
    } catch (x) {
      return errnoFromError(x);
    }
  }

  /**
   * Reopens a file or directory that describeFds recorded (osmo restart), at the same fd number
   * and offset. Stdio and preopens are not its business (the new caller's stdio; preopens are
   * made by the constructor). Refuses, naming the fd, when the state cannot be restored
   * faithfully — the file is gone or now shorter than the offset, or it was a pipe — unless
   * `force`, which leaves such an fd closed (the program then sees EBADF).
   */
  restoreFd(d: FdDescription, force: boolean): void {
    if (d.stdio || d.guestPath !== undefined) return;
    const refuse = (why: string): void => {
      if (force) return;
      throw new OsmoError(
        'E_SNAPSHOT_CORRUPT',
        `cannot restore fd ${d.fd} (${d.special ?? d.hostPath}): ${why}; --force restarts without it`,
      );
    };
    if (d.special !== undefined) {
      const again = this.special?.reopen(d.special);
      if (again === undefined) return refuse('this process cannot make it again');
      if (this.table.get(d.fd) !== undefined) this.closeFd(d.fd);
      this.table.set(d.fd, specialEntry(again, BigInt(d.rightsBase), d.oflags, d.fdflags));
      return;
    }
    if (d.kind === 'stream')
      return refuse('it was a pipe or socket, whose data cannot be read again');
    const rights = BigInt(d.rightsBase);
    const readable = (rights & Rights.FD_READ) !== 0n;
    const writable = (rights & Rights.FD_WRITE) !== 0n;
    const C = fs.constants;
    const access = readable && writable ? C.O_RDWR : writable ? C.O_WRONLY : C.O_RDONLY;
    const isDir = d.kind === 'directory';
    let hostFd: number;
    try {
      hostFd = isDir ? openDirectory(d.hostPath) : fs.openSync(d.hostPath, access);
    } catch (x) {
      return refuse(
        hostCode(x) === 'ENOENT'
          ? 'the file is gone'
          : `it cannot be opened (${hostCode(x) ?? String(x)})`,
      );
    }
    const offset = BigInt(d.offset);
    const st = fs.fstatSync(hostFd, { bigint: true });
    if (d.kind === 'file' && st.size < offset) {
      fs.closeSync(hostFd);
      return refuse(`the file is now ${st.size} bytes, shorter than the offset ${offset}`);
    }
    const c = classify(st, false);
    const root = d.root ?? d.hostPath;
    if (this.table.get(d.fd) !== undefined) this.closeFd(d.fd);
    this.table.set(d.fd, {
      hostFd,
      kind: c.kind,
      filetype: c.filetype,
      ownsHostFd: true,
      hostPath: d.hostPath,
      root,
      rel: isDir
        ? nodePath
            .relative(root, d.hostPath)
            .split(nodePath.sep)
            .filter((x) => x !== '')
        : [],
      preopenName: undefined,
      offset,
      fdflags: d.fdflags,
      oflags: d.oflags,
      rightsBase: rights,
      rightsInheriting: BigInt(d.rightsInheriting),
      listing: undefined,
      stream: undefined,
    });
  }

  /** Puts a host fd just opened by path_open into the table. */
  private adoptOpened(
    hostFd: number,
    dir: FdEntry,
    r: Resolved,
    oflags: number,
    rightsBase: bigint,
    rightsInheriting: bigint,
    fdflags: number,
  ): Result<number> {
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(hostFd, { bigint: true });
    } catch (x) {
      fs.closeSync(hostFd);
      return err(errnoFromError(x));
    }
    const c = classify(st, false);
    const isDir = c.kind === 'directory';
    return ok(
      this.table.insert({
        hostFd,
        kind: c.kind,
        filetype: c.filetype,
        ownsHostFd: true,
        hostPath: isDir ? hostPathOf(dir.root, r.rel) : r.hostPath,
        root: dir.root,
        rel: isDir ? r.rel : [],
        preopenName: undefined,
        offset: 0n,
        fdflags,
        oflags,
        rightsBase: rightsBase & c.rights,
        rightsInheriting,
        listing: undefined,
        stream: c.kind === 'stream' ? new StreamIo(hostFd) : undefined,
      }),
    );
  }
}

/** The table entry of a special file: no host fd behind it, only the deputy's stream. */
function specialEntry(
  s: { stream: FdEntry['stream']; filetype: number; rights: bigint; special: string },
  rightsBase: bigint,
  oflags: number,
  fdflags: number,
): FdEntry {
  return {
    hostFd: -1,
    kind: 'stream',
    filetype: s.filetype as Filetype,
    ownsHostFd: false,
    hostPath: '',
    root: '',
    rel: [],
    preopenName: undefined,
    offset: 0n,
    fdflags,
    oflags,
    rightsBase: rightsBase & s.rights,
    rightsInheriting: 0n,
    listing: undefined,
    stream: s.stream,
    special: s.special,
  };
}

/** What fstat says of a special file: a character device of size 0, with no times. */
function specialFilestat(filetype: number): Filestat {
  return {
    dev: 0n,
    ino: 0n,
    filetype: filetype as Filetype,
    nlink: 1n,
    size: 0n,
    atim: 0n,
    mtim: 0n,
    ctim: 0n,
  };
}

function follows(lookupFlags: number): boolean {
  return (lookupFlags & Lookupflags.SYMLINK_FOLLOW) !== 0;
}

/** Linux's O_PATH, which Node does not name. */
const O_PATH = 0o10000000;

/**
 * Opens a directory to serve as an fd. One its user may not read (no r bit: /lost+found, a home
 * of mode 0711) is opened as a mere path: the program then meets what its user meets there —
 * EACCES when listing it, paths through it as far as the permissions go — instead of the whole
 * run failing because the default view lists every top-level directory.
 */
function openDirectory(path: string): number {
  const C = fs.constants;
  try {
    return fs.openSync(path, C.O_RDONLY | C.O_DIRECTORY);
  } catch (e) {
    if (hostCode(e) !== 'EACCES' || process.platform !== 'linux') throw e;
    return fs.openSync(path, O_PATH | C.O_DIRECTORY);
  }
}

/** Whether `path` lies in directory `dir` (none given: no). */
function isUnder(path: string, dir: string | undefined): boolean {
  return dir !== undefined && path.startsWith(`${dir}/`);
}
