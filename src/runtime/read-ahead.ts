/**
 * Read-ahead, the guest's side: a program on another node reading a file at home sequentially
 * gets, with the answer to a read, the bytes that follow (the deputy's side decides how many:
 * migration/read-ahead-window.ts). Its next reads of that fd are served from them in the guest
 * thread, with no round trip; what they consumed is owed to the deputy's offset and paid with
 * one posted `fd_seek(fd, n, CUR)` before the guest's next request or message to its host
 * thread — so the deputy, an image and every call see the offset the program saw.
 *
 * With the answer to a short read (the end of a regular file) comes the word that the file ends
 * there, so the read that finds the end (0 bytes) needs no round trip either; and with the answer
 * to the open of a file only for reading come its first bytes (a small file: all of it).
 *
 * What the guest holds is dropped by any call that could change a file or an offset (a write
 * to a file, a seek, an open, a close…; writes to stdout and stderr keep it) and after
 * HELD_FOR_MS: data read ahead is never older than that, like a short attribute cache.
 */
import { syscallId } from '../protocol/syscall-table.js';
import type { SyscallName } from '../protocol/syscall-table.js';

/** How long bytes read ahead may be served: a file changed at home shows within this. */
export const HELD_FOR_MS = 1000;

/** Calls that change no file and no offset: what the guest holds of a file stays true. */
const KEEP_NAMES: readonly SyscallName[] = [
  'fdAdvise',
  'fdDatasync',
  'fdFdstatGet',
  'fdFilestatGet',
  'fdPread',
  'fdPrestatName',
  'fdRead',
  'fdReaddir',
  'fdSync',
  'fdTell',
  'pathFilestatGet',
  'pathReadlink',
  'pollOneoff',
  'sockRecv',
];
const KEEPS = new Set(KEEP_NAMES.map((name) => syscallId(name)));
const FD_WRITE = syscallId('fdWrite');
const FD_CLOSE = syscallId('fdClose');

/** Set in an answer's `ahead` word: the file ends right after the bytes sent (its next read: 0). */
export const AHEAD_EOF_BIT = 0x8000_0000;

/**
 * Where the answer to a path_open carries its ahead word (the first bytes of a file opened only
 * for reading follow from RESPONSE_DATA_OFFSET). The guest zeroes it before asking: an answer
 * without it (at home, or any other file) is 8 bytes long and leaves it 0.
 */
export const OPEN_AHEAD_WORD = 8;

interface Held {
  readonly data: Uint8Array;
  pos: number;
  /** The file ends where `data` does: a read there returns 0 bytes. */
  readonly eof: boolean;
  readonly at: number;
}

export class ReadAhead {
  private readonly held = new Map<number, Held>();
  /** Bytes served here per fd that the deputy's offset has not moved by yet. */
  private readonly owed = new Map<number, number>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Up to `length` bytes of `fd` from what arrived ahead, or undefined (ask the deputy). */
  take(fd: number, length: number): Uint8Array | undefined {
    const h = this.held.get(fd);
    if (h === undefined || length === 0) return undefined;
    if (this.now() - h.at > HELD_FOR_MS) {
      this.held.delete(fd);
      return undefined;
    }
    if (h.pos === h.data.length) {
      // All consumed and the file known to end there: the read at its end, answered here.
      this.held.delete(fd);
      return new Uint8Array(0);
    }
    const n = Math.min(length, h.data.length - h.pos);
    const out = h.data.subarray(h.pos, h.pos + n);
    h.pos += n;
    if (h.pos === h.data.length && !h.eof) this.held.delete(fd);
    this.owed.set(fd, (this.owed.get(fd) ?? 0) + n);
    return out;
  }

  /**
   * Bytes of `fd` that follow the read just answered (a copy: the channel's region is reused);
   * `eof`: the file ends right after them.
   */
  keep(fd: number, data: Uint8Array, eof = false): void {
    if (data.length > 0 || eof) this.held.set(fd, { data, pos: 0, eof, at: this.now() });
  }

  /**
   * Before request `op` (on `fd`, if it has one) goes to the deputy: drops what no longer holds,
   * and returns the offsets owed, which the caller must pay first (posted seeks), in this order.
   */
  before(op: number, fd: number | undefined): [fd: number, bytes: number][] {
    const keeps = KEEPS.has(op) || (op === FD_WRITE && (fd === 1 || fd === 2));
    if (!keeps) this.held.clear();
    // A closed fd's offset goes with it: what it owes need not be paid.
    if (op === FD_CLOSE && fd !== undefined) this.owed.delete(fd);
    return this.settle();
  }

  /** The offsets owed, now (before a message to the host thread: a stop, an image, an exit). */
  settle(): [fd: number, bytes: number][] {
    if (this.owed.size === 0) return [];
    const owed = [...this.owed];
    this.owed.clear();
    return owed;
  }
}
