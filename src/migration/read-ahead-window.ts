/**
 * Read-ahead, the deputy's side (runtime/read-ahead.ts is the guest's): how many bytes of a
 * file to send after a read's own, per fd (and with the answer to its open: FIRST_WINDOW, see
 * {@link ReadAheadWindows.opened}). Like a kernel's read-ahead window: nothing until two
 * full reads in a row follow each other, then FIRST_WINDOW, doubling while the program comes back
 * exactly where the bytes sent ended (it consumed them all), up to MAX_WINDOW; back to nothing
 * when it comes back anywhere else (it sought, or dropped what it held).
 */

export const FIRST_WINDOW = 64 * 1024;
export const MAX_WINDOW = 512 * 1024;

interface Stream {
  /** Where the program's next read starts if it goes on reading in order. */
  expect: bigint;
  window: number;
}

export class ReadAheadWindows {
  private readonly streams = new Map<number, Stream>();

  /**
   * A read of `n` bytes of `asked` ended at `end` (the fd's offset now). Returns how many bytes
   * to send ahead (at most `room`), which the caller sends from `end` on, and then reports with
   * {@link sent}.
   */
  afterRead(fd: number, end: bigint, n: number, asked: number, room: number): number {
    const s = this.streams.get(fd);
    const inOrder = s !== undefined && end - BigInt(n) === s.expect;
    const window =
      inOrder && n === asked && n > 0 ? Math.min(MAX_WINDOW, 2 * s.window || FIRST_WINDOW) : 0;
    this.streams.set(fd, { expect: end, window });
    return Math.max(0, Math.min(window, room));
  }

  /**
   * A file was opened (offset 0) and its first `bytes` sent with the answer: a first read where
   * they end is in order, and the window goes on from FIRST_WINDOW.
   */
  opened(fd: number, bytes: number): void {
    this.streams.set(fd, { expect: BigInt(bytes), window: FIRST_WINDOW });
  }

  /** `bytes` were sent ahead from the fd's offset: the next read in order starts after them. */
  sent(fd: number, bytes: number): void {
    const s = this.streams.get(fd);
    if (s !== undefined) s.expect += BigInt(bytes);
  }

  /** The fd was closed or renumbered: a new file may come under its number. */
  forget(fd: number): void {
    this.streams.delete(fd);
  }
}
