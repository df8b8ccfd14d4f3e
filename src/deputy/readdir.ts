/**
 * fd_readdir: a directory listing snapshot with positional cookies.
 *
 * The host gives no stable cookies (Node has no telldir/seekdir), so the listing is taken once,
 * when the guest starts at cookie 0 (rewinddir) or has no snapshot, and then paged through:
 * entry i carries next = i + 1. Entries are ".", "..", then the names in byte order, which makes
 * listings reproducible across hosts and across a migration.
 */
import * as fs from 'node:fs';
import { DIRENT_SIZE, Filetype } from '../wasi/abi.js';
import type { Dirent } from '../wasi/abi.js';
import { filetypeOf } from './fd-classify.js';
import { hostPathOf } from './path-resolve.js';

const encoder = new TextEncoder();

/**
 * Lists `hostPath` (the directory open as `hostFd`). Throws host errors (the caller maps them).
 * Known gap: the listing is read by path, so a directory renamed after it was opened is listed
 * at its old path (Node cannot read a directory through an fd).
 */
export function snapshotDirectory(hostFd: number, hostPath: string): Dirent[] {
  const self = fs.fstatSync(hostFd, { bigint: true });
  const parent = fs.lstatSync(hostPath + '/..', { bigint: true, throwIfNoEntry: false });
  const names = fs
    .readdirSync(hostPath)
    .map((name) => ({ name, bytes: encoder.encode(name) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const out: Dirent[] = [
    { next: 1n, ino: self.ino, type: Filetype.DIRECTORY, name: encoder.encode('.') },
    { next: 2n, ino: parent?.ino ?? 0n, type: Filetype.DIRECTORY, name: encoder.encode('..') },
  ];
  for (const { name, bytes } of names) {
    // An entry removed since readdir is still listed (with ino 0, type UNKNOWN), as a racing
    // getdents would have listed it.
    const st = fs.lstatSync(hostPathOf(hostPath, [name]), { bigint: true, throwIfNoEntry: false });
    out.push({
      next: BigInt(out.length + 1),
      ino: st?.ino ?? 0n,
      type: st === undefined ? Filetype.UNKNOWN : filetypeOf(st),
      name: bytes,
    });
  }
  return out;
}

/** Entries from `cookie` on, enough to fill `bufLen` bytes of encoded dirents (or all left). */
export function pageDirectory(
  listing: readonly Dirent[],
  cookie: bigint,
  bufLen: number,
): Dirent[] {
  const out: Dirent[] = [];
  if (cookie >= BigInt(listing.length)) return out;
  let used = 0;
  for (let i = Number(cookie); i < listing.length && used < bufLen; i++) {
    const d = listing[i]!;
    out.push(d);
    used += DIRENT_SIZE + d.name.length;
  }
  return out;
}
