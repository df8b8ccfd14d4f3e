/**
 * Reads a pipe, socket or terminal through libuv's event loop (epoll) rather than its thread
 * pool. A thread-pool read of an idle pipe blocks a pool thread inside read(2), and Node ≥ 22
 * joins the pool threads at exit: `osmo run` then could not end on SIGTERM while its program
 * waited for stdin (measured on Node 24). A libuv stream never blocks a thread, a pending read is
 * just a pending promise that can be abandoned (suspension, signals), and the stream stays paused
 * so the kernel pipe — not the deputy — holds what the program has not asked for yet.
 */
import * as net from 'node:net';
import type { Readable } from 'node:stream';
import * as tty from 'node:tty';
import { Errno } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import { errnoFromError } from './host-errno.js';
import type { ReadReadiness } from './stream-io.js';

export class EventReader {
  private readonly stream: Readable;
  private ended = false;
  private error = 0;
  /** Bumped by cancel(): a read still waiting for data gives up without consuming any. */
  private generation = 0;
  /** Releases of the waits in progress (whenReadable). */
  private readonly waits: (() => void)[] = [];

  /**
   * The reader takes the fd over: a libuv handle cannot let go of its fd without closing it (a
   * handle left open keeps the fd's watcher and breaks the next handle on a reused number), so
   * {@link close} destroys the stream, closing the fd, and the fd's former owner must not close it
   * again (StreamIo.ownsHostFd). Until then the fd stays open even past EOF: a net.Socket destroys
   * itself once both sides are done, so it gets a writable side that is never ended, and
   * allowHalfOpen so that EOF does not end it. Reopening the fd through /proc/self/fd to get a
   * private description was tried: a FIFO reopened after its writer left never reports hangup,
   * so EOF never came. libuv makes the description non-blocking; Node restores stdio's at exit.
   */
  constructor(readonly fd: number) {
    this.stream = tty.isatty(fd)
      ? new tty.ReadStream(fd)
      : new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    this.stream.pause();
    this.stream.on('end', () => (this.ended = true));
    this.stream.on('error', (e) => (this.error = errnoFromError(e)));
  }

  /** Whether `fd` is a kind this reader serves (FIFO, socket or terminal). */
  static suits(isFifo: boolean, isSocket: boolean, fd: number): boolean {
    return isFifo || isSocket || tty.isatty(fd);
  }

  /** Bytes available now (or EOF / an error); undefined when the program would have to wait. */
  tryRead(dest: Uint8Array): Result<number> | undefined {
    const chunk = this.stream.read() as Buffer | null;
    if (chunk !== null) {
      const n = Math.min(dest.length, chunk.length);
      dest.set(chunk.subarray(0, n));
      if (n < chunk.length) this.stream.unshift(chunk.subarray(n));
      return ok(n);
    }
    if (this.error !== 0) return err(this.error);
    if (this.ended) return ok(0);
    return undefined;
  }

  read(dest: Uint8Array): Result<number> | Promise<Result<number>> {
    const generation = this.generation;
    return (
      this.tryRead(dest) ??
      this.whenReadable().then(() =>
        generation === this.generation ? this.read(dest) : err(Errno.INTR),
      )
    );
  }

  /** Makes every read still waiting give up with INTR, consuming nothing (suspension). */
  cancel(): void {
    this.generation++;
    // Release the waits now: left on the stream, each cancelled wait would hold its listeners
    // until the next byte arrives (a program moved often while blocked would pile them up).
    for (const release of this.waits.splice(0)) release();
  }

  readiness(): ReadReadiness | undefined {
    if (this.stream.readableLength > 0) {
      return { nbytes: this.stream.readableLength, hangup: false, error: 0 };
    }
    if (this.error !== 0) return { nbytes: 0, hangup: false, error: this.error };
    if (this.ended) return { nbytes: 0, hangup: true, error: 0 };
    return undefined;
  }

  /** Resolves once bytes, EOF or an error are there to be seen. */
  whenReadable(): Promise<void> {
    if (this.readiness() !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        for (const ev of ['readable', 'end', 'error', 'close'] as const) this.stream.off(ev, done);
        const i = this.waits.indexOf(done);
        if (i >= 0) this.waits.splice(i, 1);
        resolve();
      };
      this.waits.push(done);
      for (const ev of ['readable', 'end', 'error', 'close'] as const) this.stream.once(ev, done);
      // With no data buffered, read(0) asks libuv to start reading (the stream stays paused).
      this.stream.read(0);
    });
  }

  /** Ends the stream and closes the fd (see the constructor). */
  close(): void {
    this.stream.removeAllListeners();
    this.stream.on('error', () => undefined);
    this.stream.destroy();
  }
}
