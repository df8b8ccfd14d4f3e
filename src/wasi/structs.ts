/**
 * Encoders and decoders for WASI preview1 structs in guest linear memory. Pure functions over a
 * DataView; callers check bounds first with {@link inBounds}.
 */
import {
  DIRENT_SIZE,
  Eventtype,
  EVENT_SIZE,
  FDSTAT_SIZE,
  FILESTAT_SIZE,
  IOVEC_SIZE,
  SUBSCRIPTION_SIZE,
} from './abi.js';
import type { Dirent, Event, Fdstat, Filestat, Subscription } from './abi.js';

/** True when [ptr, ptr+len) lies inside a memory of `size` bytes. */
export function inBounds(size: number, ptr: number, len: number): boolean {
  return ptr >= 0 && len >= 0 && ptr + len <= size;
}

/** Reads an iovec/ciovec array as views into `bytes` (no copy). Returns null if out of bounds. */
export function readIovecs(
  view: DataView,
  bytes: Uint8Array,
  ptr: number,
  count: number,
): Uint8Array[] | null {
  if (!inBounds(view.byteLength, ptr, count * IOVEC_SIZE)) return null;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const buf = view.getUint32(ptr + i * IOVEC_SIZE, true);
    const len = view.getUint32(ptr + i * IOVEC_SIZE + 4, true);
    if (!inBounds(bytes.length, buf, len)) return null;
    if (len > 0) out.push(bytes.subarray(buf, buf + len));
  }
  return out;
}

export function totalLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** Copies `src` into the iovecs in order; returns bytes copied. */
export function scatter(src: Uint8Array, iovs: readonly Uint8Array[]): number {
  let off = 0;
  for (const iov of iovs) {
    if (off >= src.length) break;
    const n = Math.min(iov.length, src.length - off);
    iov.set(src.subarray(off, off + n));
    off += n;
  }
  return off;
}

export function writeFdstat(view: DataView, ptr: number, s: Fdstat): void {
  new Uint8Array(view.buffer, view.byteOffset + ptr, FDSTAT_SIZE).fill(0);
  view.setUint8(ptr, s.filetype);
  view.setUint16(ptr + 2, s.flags, true);
  view.setBigUint64(ptr + 8, s.rightsBase, true);
  view.setBigUint64(ptr + 16, s.rightsInheriting, true);
}

export function writeFilestat(view: DataView, ptr: number, s: Filestat): void {
  new Uint8Array(view.buffer, view.byteOffset + ptr, FILESTAT_SIZE).fill(0);
  view.setBigUint64(ptr, s.dev, true);
  view.setBigUint64(ptr + 8, s.ino, true);
  view.setUint8(ptr + 16, s.filetype);
  view.setBigUint64(ptr + 24, s.nlink, true);
  view.setBigUint64(ptr + 32, s.size, true);
  view.setBigUint64(ptr + 40, s.atim, true);
  view.setBigUint64(ptr + 48, s.mtim, true);
  view.setBigUint64(ptr + 56, s.ctim, true);
}

/**
 * Packs dirents into [ptr, ptr+bufLen) the way fd_readdir specifies: header then name, the last
 * entry truncated when it does not fit (the caller sees bufused == bufLen and retries with a
 * larger buffer). Returns bufused.
 */
export function writeDirents(
  view: DataView,
  ptr: number,
  bufLen: number,
  entries: readonly Dirent[],
): number {
  const header = new DataView(new ArrayBuffer(DIRENT_SIZE));
  const headerBytes = new Uint8Array(header.buffer);
  const dest = new Uint8Array(view.buffer, view.byteOffset + ptr, bufLen);
  let used = 0;
  for (const e of entries) {
    if (used >= bufLen) break;
    header.setBigUint64(0, e.next, true);
    header.setBigUint64(8, e.ino, true);
    header.setUint32(16, e.name.length, true);
    header.setUint32(20, e.type, true); // d_type is a u8 followed by padding; zero the padding
    const h = Math.min(DIRENT_SIZE, bufLen - used);
    dest.set(headerBytes.subarray(0, h), used);
    used += h;
    if (h < DIRENT_SIZE) break;
    const n = Math.min(e.name.length, bufLen - used);
    dest.set(e.name.subarray(0, n), used);
    used += n;
  }
  return used;
}

export function direntSize(e: Dirent): number {
  return DIRENT_SIZE + e.name.length;
}

export function readSubscription(view: DataView, ptr: number): Subscription {
  const userdata = view.getBigUint64(ptr, true);
  const tag = view.getUint8(ptr + 8);
  if (tag === Eventtype.CLOCK) {
    return {
      userdata,
      type: Eventtype.CLOCK,
      clockId: view.getUint32(ptr + 16, true),
      timeout: view.getBigUint64(ptr + 24, true),
      precision: view.getBigUint64(ptr + 32, true),
      flags: view.getUint16(ptr + 40, true),
    };
  }
  if (tag === Eventtype.FD_READ || tag === Eventtype.FD_WRITE) {
    return { userdata, type: tag, fd: view.getUint32(ptr + 16, true) };
  }
  // An unknown tag is reported as a clock with an impossible id; the dispatch answers EINVAL.
  return {
    userdata,
    type: Eventtype.CLOCK,
    clockId: 0xffffffff,
    timeout: 0n,
    precision: 0n,
    flags: 0,
  };
}

export { SUBSCRIPTION_SIZE, EVENT_SIZE };

export function writeEvent(view: DataView, ptr: number, e: Event): void {
  new Uint8Array(view.buffer, view.byteOffset + ptr, EVENT_SIZE).fill(0);
  view.setBigUint64(ptr, e.userdata, true);
  view.setUint16(ptr + 8, e.error, true);
  view.setUint8(ptr + 10, e.type);
  view.setBigUint64(ptr + 16, e.nbytes, true);
  view.setUint16(ptr + 24, e.flags, true);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
export function readString(bytes: Uint8Array, ptr: number, len: number): string {
  return utf8.decode(bytes.subarray(ptr, ptr + len));
}
