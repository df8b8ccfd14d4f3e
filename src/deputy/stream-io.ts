/**
 * I/O on host fds that can block (pipes, FIFOs, ttys, sockets, character devices other than the
 * memory devices). The deputy runs on the main thread, whose event loop must stay free for
 * signals and other I/O, so every read and write here is an async fs.read/fs.write, served by
 * libuv's thread pool, and the backend hands the guest a Promise. A write resolves once the
 * kernel accepted the bytes: that is the backpressure (`cat 1GB | osmo run f.wasm > out` never
 * holds the gigabyte in the deputy).
 *
 * Reads of pipes, sockets and terminals do not use the thread pool at all: they go through an
 * EventReader (libuv stream, epoll), see event-reader.ts for why. The thread-pool read and the
 * read-ahead below remain for other character devices.
 *
 * poll_oneoff needs to know when a stream is readable without consuming anything the guest has
 * not asked for yet. It gets that from a read-ahead: one async read of up to 64 KiB into a buffer
 * owned by the fd; the stream is readable once that buffer holds bytes or the read saw EOF or an
 * error. fd_read consumes the read-ahead first, so no byte is lost or reordered.
 *
 * EAGAIN: a host fd may be O_NONBLOCK (inherited that way from the parent, or a FIFO). The thread
 * pool then gets EAGAIN back instead of blocking; we retry after a short backoff timer (1 ms
 * doubling up to 50 ms) until the fd is ready. Polling with a timer costs a few wake-ups per
 * second while idle, but needs no epoll integration Node does not offer for arbitrary fds. If the
 * guest itself set NONBLOCK, EAGAIN is handed to it instead.
 */
import * as fs from 'node:fs';
import { Errno } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import { EventReader } from './event-reader.js';
import type { FdStream } from './fd-table.js';
import { errnoFromError, hostCode } from './host-errno.js';

export const READ_AHEAD_BYTES = 64 * 1024;
const BACKOFF_FIRST_MS = 1;
const BACKOFF_MAX_MS = 50;

type IoCallback = (e: NodeJS.ErrnoException | null, n: number) => void;

/** What a poll on this stream's read side sees right now; undefined = not ready yet. */
export interface ReadReadiness {
  nbytes: number;
  hangup: boolean;
  error: number;
}

export class StreamIo implements FdStream {
  private ahead: Buffer | undefined;
  private aheadStart = 0;
  private aheadEnd = 0;
  private eof = false;
  private error = 0;
  private inflight: Promise<void> | undefined;
  private closed = false;
  /** Backoff timers of EAGAIN retries, each with the function that abandons its operation. */
  private readonly retries = new Map<NodeJS.Timeout, () => void>();

  /** Pipes, sockets and terminals are read through the event loop (event-reader.ts); decided
   * at the first read, so write-only stdio never gets a reader. null: use the thread pool. */
  private reader: EventReader | null | undefined;

  constructor(readonly hostFd: number) {}

  private eventReader(): EventReader | null {
    if (this.reader === undefined) {
      let suits = false;
      try {
        const st = fs.fstatSync(this.hostFd);
        suits = EventReader.suits(st.isFIFO(), st.isSocket(), this.hostFd);
      } catch {
        suits = false;
      }
      this.reader = suits ? new EventReader(this.hostFd) : null;
    }
    return this.reader;
  }

  /**
   * Reads into `dest`: read-ahead bytes first, then (if none) one read from the host.
   * `nonblocking`: the guest set FDFLAGS_NONBLOCK, so it gets AGAIN instead of waiting (and a
   * read-ahead is started so a later poll or read finds the data).
   */
  read(dest: Uint8Array, nonblocking: boolean): Result<number> | Promise<Result<number>> {
    if (dest.length === 0) return ok(0);
    const reader = this.closed ? null : this.eventReader();
    if (reader !== null) {
      const now = reader.tryRead(dest);
      if (now !== undefined) return now;
      if (nonblocking) return err(Errno.AGAIN);
      return reader.read(dest);
    }
    const now = this.takeAhead(dest);
    if (now !== undefined) return now;
    if (this.inflight !== undefined) {
      if (nonblocking) return err(Errno.AGAIN);
      return this.inflight.then(() => this.takeAhead(dest) ?? err(Errno.BADF));
    }
    if (nonblocking) {
      void this.startReadAhead();
      return err(Errno.AGAIN);
    }
    return this.io((cb) => fs.read(this.hostFd, dest, 0, dest.length, null, cb), false);
  }

  /** One write; resolves with the bytes the kernel accepted (a short write is possible). */
  write(data: Uint8Array, nonblocking: boolean): Result<number> | Promise<Result<number>> {
    if (data.length === 0) return ok(0);
    return this.io((cb) => fs.write(this.hostFd, data, 0, data.length, null, cb), nonblocking);
  }

  /** Readiness for poll_oneoff, without waiting. */
  readReadiness(): ReadReadiness | undefined {
    if (this.reader) return this.reader.readiness();
    if (this.aheadEnd > this.aheadStart) {
      return { nbytes: this.aheadEnd - this.aheadStart, hangup: false, error: 0 };
    }
    if (this.error !== 0) return { nbytes: 0, hangup: false, error: this.error };
    if (this.eof) return { nbytes: 0, hangup: true, error: 0 };
    return undefined;
  }

  /** Starts the read-ahead if none is running; resolves when it has an outcome. */
  startReadAhead(): Promise<void> {
    const reader = this.closed ? null : this.eventReader();
    if (reader !== null) return reader.whenReadable();
    if (this.inflight !== undefined) return this.inflight;
    if (this.readReadiness() !== undefined) return Promise.resolve();
    const buf = Buffer.allocUnsafe(READ_AHEAD_BYTES);
    const p = this.io((cb) => fs.read(this.hostFd, buf, 0, buf.length, null, cb), false).then(
      (r) => {
        this.inflight = undefined;
        if (!r.ok) this.error = r.errno;
        else if (r.value === 0) this.eof = true;
        else {
          this.ahead = buf;
          this.aheadStart = 0;
          this.aheadEnd = r.value;
        }
      },
    );
    this.inflight = p;
    return p;
  }

  /** Stops retrying; pending operations resolve with BADF. The host fd is closed by the owner. */
  /** False once an event reader has taken the host fd over: closing the stream closes it. */
  get ownsHostFd(): boolean {
    return !this.reader;
  }

  close(): void {
    this.closed = true;
    this.reader?.close();
    for (const [timer, abandon] of this.retries) {
      clearTimeout(timer);
      abandon();
    }
    this.retries.clear();
    this.ahead = undefined;
    this.aheadStart = this.aheadEnd = 0;
  }

  /** Consumes read-ahead state into dest; undefined when there is nothing to hand out. */
  private takeAhead(dest: Uint8Array): Result<number> | undefined {
    if (this.ahead !== undefined && this.aheadEnd > this.aheadStart) {
      const n = Math.min(dest.length, this.aheadEnd - this.aheadStart);
      dest.set(this.ahead.subarray(this.aheadStart, this.aheadStart + n));
      this.aheadStart += n;
      if (this.aheadStart === this.aheadEnd) {
        this.ahead = undefined;
        this.aheadStart = this.aheadEnd = 0;
      }
      return ok(n);
    }
    if (this.error !== 0) {
      const e = this.error;
      this.error = 0;
      return err(e);
    }
    if (this.eof) {
      // A tty's EOF (^D) is a one-off: the next read may return data again.
      this.eof = false;
      return ok(0);
    }
    if (this.closed) return err(Errno.BADF);
    return undefined;
  }

  /** Runs a thread-pool read or write, retrying EAGAIN/EINTR as the file comment describes. */
  /** Thread-pool operations in flight: they cannot be taken back once started. */
  private threadPoolOps = 0;

  /**
   * Cancels what is waiting on this stream without consuming data; false when a thread-pool
   * operation is in flight (it may complete and consume data whatever we do).
   */
  cancelWaits(): boolean {
    this.reader?.cancel();
    return this.threadPoolOps === 0;
  }

  private io(op: (cb: IoCallback) => void, nonblocking: boolean): Promise<Result<number>> {
    this.threadPoolOps++;
    return this.ioAttempts(op, nonblocking).finally(() => this.threadPoolOps--);
  }

  private ioAttempts(op: (cb: IoCallback) => void, nonblocking: boolean): Promise<Result<number>> {
    return new Promise((resolve) => {
      let delay = BACKOFF_FIRST_MS;
      const attempt = (): void => {
        if (this.closed) {
          resolve(err(Errno.BADF));
          return;
        }
        op((e, n) => {
          if (e === null) {
            resolve(ok(n));
            return;
          }
          const code = hostCode(e);
          if (code === 'EINTR') {
            attempt();
            return;
          }
          if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
            if (nonblocking || this.closed) {
              resolve(err(this.closed ? Errno.BADF : Errno.AGAIN));
              return;
            }
            const timer = setTimeout(() => {
              this.retries.delete(timer);
              attempt();
            }, delay);
            this.retries.set(timer, () => resolve(err(Errno.BADF)));
            delay = Math.min(delay * 2, BACKOFF_MAX_MS);
            return;
          }
          resolve(err(errnoFromError(e)));
        });
      };
      attempt();
    });
  }
}
