/**
 * Host stat -> WASI filestat, and the time arguments of the *_set_times calls.
 *
 * Precision: Node's futimes/utimes/lutimes take seconds as a double, which at today's epoch
 * carries about a quarter of a microsecond, so nanoseconds set by the guest are rounded
 * (reads via the bigint *Ns fields are exact).
 */
import type { BigIntStats } from 'node:fs';
import { Errno, Fstflags } from '../wasi/abi.js';
import type { Filestat } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import { filetypeOf } from './fd-classify.js';

export function filestatOf(st: BigIntStats, filetype = filetypeOf(st)): Filestat {
  return {
    dev: st.dev,
    ino: st.ino,
    filetype,
    nlink: st.nlink,
    size: st.size,
    atim: st.atimeNs,
    mtim: st.mtimeNs,
    ctim: st.ctimeNs,
  };
}

const FSTFLAGS_ALL = Fstflags.ATIM | Fstflags.ATIM_NOW | Fstflags.MTIM | Fstflags.MTIM_NOW;

function nsToSeconds(ns: bigint): number {
  // Split so the integer seconds stay exact before the fraction is added.
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

/**
 * The (atime, mtime) in seconds to hand to utimes: a time given by the guest, "now", or (unset)
 * the file's current value. Both a time and its _NOW flag -> INVAL, as in the spec.
 */
export function timesToSet(
  current: BigIntStats,
  atim: bigint,
  mtim: bigint,
  fstFlags: number,
): Result<{ atime: number; mtime: number }> {
  if ((fstFlags & ~FSTFLAGS_ALL) !== 0) return err(Errno.INVAL);
  if ((fstFlags & Fstflags.ATIM) !== 0 && (fstFlags & Fstflags.ATIM_NOW) !== 0) {
    return err(Errno.INVAL);
  }
  if ((fstFlags & Fstflags.MTIM) !== 0 && (fstFlags & Fstflags.MTIM_NOW) !== 0) {
    return err(Errno.INVAL);
  }
  const now = Date.now() / 1000;
  const atime =
    (fstFlags & Fstflags.ATIM_NOW) !== 0
      ? now
      : nsToSeconds((fstFlags & Fstflags.ATIM) !== 0 ? atim : current.atimeNs);
  const mtime =
    (fstFlags & Fstflags.MTIM_NOW) !== 0
      ? now
      : nsToSeconds((fstFlags & Fstflags.MTIM) !== 0 ? mtim : current.mtimeNs);
  return ok({ atime, mtime });
}
