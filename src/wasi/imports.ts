/**
 * The guest-side dispatch: the `wasi_snapshot_preview1` import object. Each function checks and
 * decodes its pointers, then either answers from the guest's own context (arguments,
 * environment, clocks, randomness, plain sleeps: nothing of the home node is needed) or calls
 * the deputy through a {@link GuestSyscalls} port, and encodes the answer into guest memory.
 * Returns errno; never throws, except to end the program (proc_exit, proc_raise).
 */
import { Errno, Eventtype, FDSTAT_SIZE, FILESTAT_SIZE, Subclockflags } from './abi.js';
import type { Event, Subscription } from './abi.js';
import type { GuestSyscalls } from './guest-syscalls.js';
import {
  EVENT_SIZE,
  inBounds,
  readIovecs,
  readString,
  readSubscription,
  scatter,
  SUBSCRIPTION_SIZE,
  totalLength,
  writeDirents,
  writeEvent,
  writeFdstat,
  writeFilestat,
} from './structs.js';

/** What the guest side answers by itself. */
export interface GuestContext {
  readonly args: readonly string[];
  /** "KEY=value" strings. */
  readonly env: readonly string[];
  /** Current time of a clock in ns, or undefined for an unknown clock id. */
  clockTime(id: number): bigint | undefined;
  clockResolution(id: number): bigint | undefined;
  randomFill(dest: Uint8Array): void;
  /** Blocks the guest for about `ns` nanoseconds. */
  sleep(ns: bigint): void;
  /** Ends the program with an exit status; does not return. */
  exit(code: number): never;
  /** Delivers a WASI signal to the program: returns errno, or does not return if it ends it. */
  raise(signal: number): number;
}

export interface SyscallTracer {
  /** A monotonic clock in ns, to time each call. */
  now(): bigint;
  record(name: string, args: readonly unknown[], errno: number, ns: bigint): void;
}

type ImportFn = (...args: never[]) => number | void;

const encoder = new TextEncoder();
const MAX_PATH = 65536;

export function createWasiImports(
  port: GuestSyscalls,
  ctx: GuestContext,
  memory: () => WebAssembly.Memory,
  tracer?: SyscallTracer,
): Record<string, ImportFn> {
  let cachedBuffer: ArrayBuffer | undefined;
  let view = new DataView(new ArrayBuffer(0));
  let bytes = new Uint8Array(0);
  /** Views over the current memory buffer (it is replaced when memory grows). */
  function mem(): void {
    const buffer = memory().buffer as ArrayBuffer;
    if (buffer !== cachedBuffer) {
      cachedBuffer = buffer;
      view = new DataView(buffer);
      bytes = new Uint8Array(buffer);
    }
  }
  const ok = (ptr: number, len: number): boolean => inBounds(bytes.length, ptr, len);
  const u32 = (v: number): number => v >>> 0;
  const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

  function path(ptr: number, len: number): string | number {
    ptr = u32(ptr);
    len = u32(len);
    if (len > MAX_PATH) return Errno.NAMETOOLONG;
    if (!ok(ptr, len)) return Errno.FAULT;
    return readString(bytes, ptr, len);
  }

  /** Decodes one path argument and calls `use` with it; a bad path answers its errno. */
  function withPath(ptr: number, len: number, use: (path: string) => number): number {
    mem();
    const s = path(ptr, len);
    return typeof s === 'number' ? s : use(s);
  }

  /** The same for calls with two paths (link, rename, symlink). */
  function withPaths(
    aPtr: number,
    aLen: number,
    bPtr: number,
    bLen: number,
    use: (a: string, b: string) => number,
  ): number {
    return withPath(aPtr, aLen, (a) => withPath(bPtr, bLen, (b) => use(a, b)));
  }

  function putU32(ptr: number, v: number): number {
    ptr = u32(ptr);
    if (!ok(ptr, 4)) return Errno.FAULT;
    view.setUint32(ptr, v, true);
    return Errno.SUCCESS;
  }
  function putU64(ptr: number, v: bigint): number {
    ptr = u32(ptr);
    if (!ok(ptr, 8)) return Errno.FAULT;
    view.setBigUint64(ptr, v, true);
    return Errno.SUCCESS;
  }

  /** args_get / environ_get: pointer array plus NUL-terminated strings. */
  function writeStrings(list: readonly string[], ptrs: number, buf: number): number {
    mem();
    ptrs = u32(ptrs);
    buf = u32(buf);
    const encoded = list.map((s) => encoder.encode(s));
    const total = encoded.reduce((n, e) => n + e.length + 1, 0);
    if (!ok(ptrs, list.length * 4) || !ok(buf, total)) return Errno.FAULT;
    let at = buf;
    encoded.forEach((e, i) => {
      view.setUint32(ptrs + i * 4, at, true);
      bytes.set(e, at);
      bytes[at + e.length] = 0;
      at += e.length + 1;
    });
    return Errno.SUCCESS;
  }
  function writeSizes(list: readonly string[], countPtr: number, sizePtr: number): number {
    mem();
    const size = list.reduce((n, s) => n + encoder.encode(s).length + 1, 0);
    return putU32(countPtr, list.length) || putU32(sizePtr, size);
  }

  function pollOneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
    mem();
    inPtr = u32(inPtr);
    outPtr = u32(outPtr);
    nsubs = u32(nsubs);
    if (nsubs === 0) return Errno.INVAL;
    if (!ok(inPtr, nsubs * SUBSCRIPTION_SIZE) || !ok(outPtr, nsubs * EVENT_SIZE))
      return Errno.FAULT;
    if (!ok(u32(neventsPtr), 4)) return Errno.FAULT;
    const subs: Subscription[] = [];
    const immediate: Event[] = [];
    let hasFd = false;
    for (let i = 0; i < nsubs; i++) {
      const s = readSubscription(view, inPtr + i * SUBSCRIPTION_SIZE);
      if (s.type !== Eventtype.CLOCK) {
        hasFd = true;
        subs.push(s);
        continue;
      }
      // Clocks belong to the guest: turn every clock subscription into a relative delay.
      const now = ctx.clockTime(s.clockId);
      if (now === undefined) {
        immediate.push({
          userdata: s.userdata,
          error: Errno.INVAL,
          type: Eventtype.CLOCK,
          nbytes: 0n,
          flags: 0,
        });
        continue;
      }
      const absolute = (s.flags & Subclockflags.SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
      const delay = absolute ? (s.timeout > now ? s.timeout - now : 0n) : s.timeout;
      subs.push({ ...s, timeout: delay, flags: 0 });
    }
    let events: Event[];
    if (immediate.length > 0) {
      events = immediate;
    } else if (hasFd) {
      const r = port.pollOneoff(subs);
      if (!r.ok) return r.errno;
      events = r.value;
    } else {
      // Only clocks: sleep here, without a round trip to the deputy.
      let min = -1n;
      for (const s of subs)
        if (s.type === Eventtype.CLOCK && (min < 0n || s.timeout < min)) min = s.timeout;
      if (min > 0n) ctx.sleep(min);
      events = subs
        .filter((s) => s.type === Eventtype.CLOCK && s.timeout <= min)
        .map((s) => ({
          userdata: s.userdata,
          error: 0,
          type: Eventtype.CLOCK,
          nbytes: 0n,
          flags: 0,
        }));
    }
    mem();
    events.forEach((e, i) => writeEvent(view, outPtr + i * EVENT_SIZE, e));
    return putU32(neventsPtr, events.length);
  }

  const fns: Record<string, ImportFn> = {
    args_get: (argv: number, buf: number) => writeStrings(ctx.args, argv, buf),
    args_sizes_get: (count: number, size: number) => writeSizes(ctx.args, count, size),
    environ_get: (env: number, buf: number) => writeStrings(ctx.env, env, buf),
    environ_sizes_get: (count: number, size: number) => writeSizes(ctx.env, count, size),

    clock_res_get: (id: number, ptr: number) => {
      mem();
      const res = ctx.clockResolution(u32(id));
      return res === undefined ? Errno.INVAL : putU64(ptr, res);
    },
    clock_time_get: (id: number, _precision: bigint, ptr: number) => {
      mem();
      const t = ctx.clockTime(u32(id));
      return t === undefined ? Errno.INVAL : putU64(ptr, t);
    },

    fd_advise: (fd: number, offset: bigint, len: bigint, advice: number) =>
      port.fdAdvise(u32(fd), u64(offset), u64(len), u32(advice)),
    fd_allocate: (fd: number, offset: bigint, len: bigint) =>
      port.fdAllocate(u32(fd), u64(offset), u64(len)),
    fd_close: (fd: number) => port.fdClose(u32(fd)),
    fd_datasync: (fd: number) => port.fdDatasync(u32(fd)),
    fd_fdstat_get: (fd: number, ptr: number) => {
      const r = port.fdFdstatGet(u32(fd));
      if (!r.ok) return r.errno;
      mem();
      if (!ok(u32(ptr), FDSTAT_SIZE)) return Errno.FAULT;
      writeFdstat(view, u32(ptr), r.value);
      return Errno.SUCCESS;
    },
    fd_fdstat_set_flags: (fd: number, flags: number) =>
      port.fdFdstatSetFlags(u32(fd), flags & 0xffff),
    fd_fdstat_set_rights: (fd: number, base: bigint, inheriting: bigint) =>
      port.fdFdstatSetRights(u32(fd), u64(base), u64(inheriting)),
    fd_filestat_get: (fd: number, ptr: number) => {
      const r = port.fdFilestatGet(u32(fd));
      if (!r.ok) return r.errno;
      mem();
      if (!ok(u32(ptr), FILESTAT_SIZE)) return Errno.FAULT;
      writeFilestat(view, u32(ptr), r.value);
      return Errno.SUCCESS;
    },
    fd_filestat_set_size: (fd: number, size: bigint) => port.fdFilestatSetSize(u32(fd), u64(size)),
    fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, fst: number) =>
      port.fdFilestatSetTimes(u32(fd), u64(atim), u64(mtim), fst & 0xffff),
    fd_pread: (fd: number, iovs: number, count: number, offset: bigint, nread: number) => {
      mem();
      const dests = readIovecs(view, bytes, u32(iovs), u32(count));
      if (dests === null || !ok(u32(nread), 4)) return Errno.FAULT;
      const r = port.fdPread(u32(fd), totalLength(dests), u64(offset));
      if (!r.ok) return r.errno;
      mem();
      return putU32(nread, scatter(r.value, readIovecs(view, bytes, u32(iovs), u32(count)) ?? []));
    },
    fd_prestat_get: (fd: number, ptr: number) => {
      const r = port.fdPrestatName(u32(fd));
      if (!r.ok) return r.errno;
      mem();
      if (!ok(u32(ptr), 8)) return Errno.FAULT;
      view.setUint32(u32(ptr), 0, true); // tag: preopentype dir, padding zeroed
      view.setUint32(u32(ptr) + 4, r.value.length, true);
      return Errno.SUCCESS;
    },
    fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
      const r = port.fdPrestatName(u32(fd));
      if (!r.ok) return r.errno;
      mem();
      if (u32(len) < r.value.length) return Errno.NAMETOOLONG;
      if (!ok(u32(ptr), r.value.length)) return Errno.FAULT;
      bytes.set(r.value, u32(ptr));
      return Errno.SUCCESS;
    },
    fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, nwritten: number) => {
      mem();
      const data = readIovecs(view, bytes, u32(iovs), u32(count));
      if (data === null || !ok(u32(nwritten), 4)) return Errno.FAULT;
      const r = port.fdPwrite(u32(fd), data, u64(offset));
      return r.ok ? (mem(), putU32(nwritten, r.value)) : r.errno;
    },
    fd_read: (fd: number, iovs: number, count: number, nread: number) => {
      mem();
      const dests = readIovecs(view, bytes, u32(iovs), u32(count));
      if (dests === null || !ok(u32(nread), 4)) return Errno.FAULT;
      const r = port.fdRead(u32(fd), totalLength(dests));
      if (!r.ok) return r.errno;
      mem();
      return putU32(nread, scatter(r.value, readIovecs(view, bytes, u32(iovs), u32(count)) ?? []));
    },
    fd_readdir: (fd: number, buf: number, len: number, cookie: bigint, used: number) => {
      mem();
      if (!ok(u32(buf), u32(len)) || !ok(u32(used), 4)) return Errno.FAULT;
      const r = port.fdReaddir(u32(fd), u64(cookie), u32(len));
      if (!r.ok) return r.errno;
      mem();
      return putU32(used, writeDirents(view, u32(buf), u32(len), r.value));
    },
    fd_renumber: (from: number, to: number) => port.fdRenumber(u32(from), u32(to)),
    fd_seek: (fd: number, offset: bigint, whence: number, ptr: number) => {
      mem();
      if (!ok(u32(ptr), 8)) return Errno.FAULT;
      const r = port.fdSeek(u32(fd), u64(offset), whence & 0xff);
      return r.ok ? (mem(), putU64(ptr, r.value)) : r.errno;
    },
    fd_sync: (fd: number) => port.fdSync(u32(fd)),
    fd_tell: (fd: number, ptr: number) => {
      mem();
      if (!ok(u32(ptr), 8)) return Errno.FAULT;
      const r = port.fdTell(u32(fd));
      return r.ok ? (mem(), putU64(ptr, r.value)) : r.errno;
    },
    fd_write: (fd: number, iovs: number, count: number, nwritten: number) => {
      mem();
      const data = readIovecs(view, bytes, u32(iovs), u32(count));
      if (data === null || !ok(u32(nwritten), 4)) return Errno.FAULT;
      const r = port.fdWrite(u32(fd), data);
      return r.ok ? (mem(), putU32(nwritten, r.value)) : r.errno;
    },

    path_create_directory: (fd: number, p: number, len: number) =>
      withPath(p, len, (s) => port.pathCreateDirectory(u32(fd), s)),
    path_filestat_get: (fd: number, flags: number, p: number, len: number, ptr: number) => {
      mem();
      const s = path(p, len);
      if (typeof s === 'number') return s;
      if (!ok(u32(ptr), FILESTAT_SIZE)) return Errno.FAULT;
      const r = port.pathFilestatGet(u32(fd), u32(flags), s);
      if (!r.ok) return r.errno;
      mem();
      writeFilestat(view, u32(ptr), r.value);
      return Errno.SUCCESS;
    },
    path_filestat_set_times: (
      fd: number,
      flags: number,
      p: number,
      len: number,
      atim: bigint,
      mtim: bigint,
      fst: number,
    ) => {
      mem();
      const s = path(p, len);
      return typeof s === 'number'
        ? s
        : port.pathFilestatSetTimes(u32(fd), u32(flags), s, u64(atim), u64(mtim), fst & 0xffff);
    },
    path_link: (
      oldFd: number,
      oldFlags: number,
      op: number,
      olen: number,
      newFd: number,
      np: number,
      nlen: number,
    ) =>
      withPaths(op, olen, np, nlen, (from, to) =>
        port.pathLink(u32(oldFd), u32(oldFlags), from, u32(newFd), to),
      ),
    path_open: (
      fd: number,
      dirflags: number,
      p: number,
      len: number,
      oflags: number,
      base: bigint,
      inheriting: bigint,
      fdflags: number,
      fdPtr: number,
    ) => {
      mem();
      const s = path(p, len);
      if (typeof s === 'number') return s;
      if (!ok(u32(fdPtr), 4)) return Errno.FAULT;
      const r = port.pathOpen(
        u32(fd),
        u32(dirflags),
        s,
        oflags & 0xffff,
        u64(base),
        u64(inheriting),
        fdflags & 0xffff,
      );
      return r.ok ? (mem(), putU32(fdPtr, r.value)) : r.errno;
    },
    path_readlink: (
      fd: number,
      p: number,
      len: number,
      buf: number,
      bufLen: number,
      used: number,
    ) => {
      mem();
      const s = path(p, len);
      if (typeof s === 'number') return s;
      if (!ok(u32(buf), u32(bufLen)) || !ok(u32(used), 4)) return Errno.FAULT;
      const r = port.pathReadlink(u32(fd), s);
      if (!r.ok) return r.errno;
      mem();
      const n = Math.min(r.value.length, u32(bufLen));
      bytes.set(r.value.subarray(0, n), u32(buf));
      return putU32(used, n);
    },
    path_remove_directory: (fd: number, p: number, len: number) =>
      withPath(p, len, (s) => port.pathRemoveDirectory(u32(fd), s)),
    path_rename: (fd: number, op: number, olen: number, newFd: number, np: number, nlen: number) =>
      withPaths(op, olen, np, nlen, (from, to) => port.pathRename(u32(fd), from, u32(newFd), to)),
    path_symlink: (op: number, olen: number, fd: number, np: number, nlen: number) =>
      withPaths(op, olen, np, nlen, (target, link) => port.pathSymlink(target, u32(fd), link)),
    path_unlink_file: (fd: number, p: number, len: number) =>
      withPath(p, len, (s) => port.pathUnlinkFile(u32(fd), s)),

    poll_oneoff: pollOneoff,
    proc_exit: (code: number) => ctx.exit(u32(code)),
    proc_raise: (signal: number) => ctx.raise(signal & 0xff),
    sched_yield: () => Errno.SUCCESS,
    random_get: (ptr: number, len: number) => {
      mem();
      if (!ok(u32(ptr), u32(len))) return Errno.FAULT;
      ctx.randomFill(bytes.subarray(u32(ptr), u32(ptr) + u32(len)));
      return Errno.SUCCESS;
    },

    sock_accept: (fd: number, flags: number, fdPtr: number) => {
      mem();
      if (!ok(u32(fdPtr), 4)) return Errno.FAULT;
      const r = port.sockAccept(u32(fd), flags & 0xffff);
      return r.ok ? (mem(), putU32(fdPtr, r.value)) : r.errno;
    },
    sock_recv: (
      fd: number,
      iovs: number,
      count: number,
      riFlags: number,
      lenPtr: number,
      flagsPtr: number,
    ) => {
      mem();
      const dests = readIovecs(view, bytes, u32(iovs), u32(count));
      if (dests === null || !ok(u32(lenPtr), 4) || !ok(u32(flagsPtr), 2)) return Errno.FAULT;
      const r = port.sockRecv(u32(fd), totalLength(dests), riFlags & 0xffff);
      if (!r.ok) return r.errno;
      mem();
      const n = scatter(r.value.data, readIovecs(view, bytes, u32(iovs), u32(count)) ?? []);
      view.setUint16(u32(flagsPtr), r.value.roflags, true);
      return putU32(lenPtr, n);
    },
    sock_send: (fd: number, iovs: number, count: number, siFlags: number, lenPtr: number) => {
      mem();
      const data = readIovecs(view, bytes, u32(iovs), u32(count));
      if (data === null || !ok(u32(lenPtr), 4)) return Errno.FAULT;
      const r = port.sockSend(u32(fd), data, siFlags & 0xffff);
      return r.ok ? (mem(), putU32(lenPtr, r.value)) : r.errno;
    },
    sock_shutdown: (fd: number, how: number) => port.sockShutdown(u32(fd), how & 0xff),
  };

  return tracer === undefined ? fns : traced(fns, tracer);
}

/** Wraps every import so each call is reported with its arguments, errno and duration. */
function traced(fns: Record<string, ImportFn>, tracer: SyscallTracer): Record<string, ImportFn> {
  const out: Record<string, ImportFn> = {};
  for (const [name, fn] of Object.entries(fns)) {
    const call = fn as (...args: unknown[]) => number | undefined;
    out[name] = (...args: unknown[]) => {
      const start = tracer.now();
      let errno = -1;
      try {
        const r = call(...args);
        errno = r ?? 0;
        return r;
      } finally {
        tracer.record(name, args, errno, tracer.now() - start);
      }
    };
  }
  return out;
}

export const WASI_FUNCTION_NAMES: readonly string[] = [
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
];
