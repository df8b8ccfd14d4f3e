/**
 * From a host fstat to what the guest sees (filetype, rights) and how the deputy does I/O on it
 * (FdKind). One place decides, so stdio, preopens and path_open agree.
 *
 * Filetype of pipes: a FIFO is reported as UNKNOWN, as wasmtime does. wasi-libc's isatty() is
 * "filetype == CHARACTER_DEVICE and no SEEK/TELL rights", so reporting a pipe as a character
 * device would make `prog | less` think it talks to a terminal (line buffering, colours).
 * Sockets are SOCKET_STREAM (a datagram socket as stdio is not a case worth a getsockopt).
 *
 * Memory devices (/dev/null, /dev/zero, ...) are CHARACTER_DEVICE but get FD_SEEK/FD_TELL, which
 * keeps isatty() false for them, as on Linux, where lseek on them succeeds and returns 0.
 */
import type { BigIntStats } from 'node:fs';
import { Filetype, Rights, RIGHTS_DIRECTORY, RIGHTS_FILE, RIGHTS_STREAM } from '../wasi/abi.js';
import type { FdKind } from './fd-table.js';

export interface FdClass {
  kind: FdKind;
  filetype: Filetype;
  /** The most rights an fd of this type can carry. */
  rights: bigint;
}

export function filetypeOf(st: BigIntStats): Filetype {
  if (st.isFile()) return Filetype.REGULAR_FILE;
  if (st.isDirectory()) return Filetype.DIRECTORY;
  if (st.isSymbolicLink()) return Filetype.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return Filetype.BLOCK_DEVICE;
  if (st.isSocket()) return Filetype.SOCKET_STREAM;
  return Filetype.UNKNOWN; // FIFO (see the file comment)
}

/** Linux mem devices that never block: null 1:3, zero 1:5, full 1:7, random 1:8, urandom 1:9. */
const MEM_MINORS = new Set([3n, 5n, 7n, 8n, 9n]);

export function isMemoryDevice(rdev: bigint): boolean {
  if (process.platform === 'linux') {
    const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
    const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
    return major === 1n && MEM_MINORS.has(minor);
  }
  // BSD/macOS: /dev/null and /dev/zero are major 3.
  return ((rdev >> 24n) & 0xffn) === 3n;
}

const SEEK_TELL = Rights.FD_SEEK | Rights.FD_TELL;

/** `stdio`: the fd was inherited as guest fd 0/1/2 rather than opened by the guest. */
export function classify(st: BigIntStats, stdio: boolean): FdClass {
  if (st.isFile() || st.isBlockDevice()) {
    const filetype = filetypeOf(st);
    return stdio
      ? { kind: 'kfile', filetype, rights: RIGHTS_FILE & ~SEEK_TELL }
      : { kind: 'file', filetype, rights: RIGHTS_FILE };
  }
  if (st.isDirectory()) {
    // A directory as stdio is nonsense but possible (`< /`); reads then fail with ISDIR.
    return stdio
      ? { kind: 'kfile', filetype: Filetype.DIRECTORY, rights: RIGHTS_FILE & ~SEEK_TELL }
      : { kind: 'directory', filetype: Filetype.DIRECTORY, rights: RIGHTS_DIRECTORY };
  }
  if (st.isCharacterDevice() && isMemoryDevice(st.rdev)) {
    return {
      kind: 'memdev',
      filetype: Filetype.CHARACTER_DEVICE,
      rights: RIGHTS_STREAM | SEEK_TELL,
    };
  }
  return { kind: 'stream', filetype: filetypeOf(st), rights: RIGHTS_STREAM };
}
