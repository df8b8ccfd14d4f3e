/**
 * The edges of the format layer: where image bytes go (ImageSink) and where they come from
 * (ImageSource). Writes take views of live memory so nothing is copied on the way to the kernel;
 * reads are positional so the reader can validate the whole image first and then fetch pages.
 */
import { fstatSync, readSync, writevSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export interface ImageSink {
  /** Writes the buffers in order, completely; may return a promise to apply back-pressure. */
  write(buffers: readonly Uint8Array[]): void | Promise<void>;
}

export interface ImageSource {
  readonly size: number;
  /** Reads up to target.length bytes at `position`; returns how many were read (0 at the end). */
  read(target: Uint8Array, position: number): number;
}

/** Synchronous writev to a file descriptor (the fastest path: one syscall per chunk). */
export function fdSink(fd: number): ImageSink {
  return {
    write(buffers) {
      let pending = buffers.filter((b) => b.length > 0);
      while (pending.length > 0) {
        let n = writevSync(fd, pending);
        // A short write (a signal, a pipe) leaves a tail to retry.
        const rest: Uint8Array[] = [];
        for (const b of pending) {
          if (n >= b.length) n -= b.length;
          else {
            rest.push(n === 0 ? b : b.subarray(n));
            n = 0;
          }
        }
        pending = rest;
      }
    },
  };
}

/**
 * A Node Writable (socket, pipe, file stream) with back-pressure. The stream keeps references to
 * the buffers until it flushes them, so the memory must not change until the stream has finished.
 */
export function writableSink(stream: Writable): ImageSink {
  return {
    async write(buffers) {
      let full = false;
      for (const b of buffers) if (b.length > 0 && !stream.write(b)) full = true;
      if (full) await once(stream, 'drain');
    },
  };
}

export function fdSource(fd: number): ImageSource {
  const size = fstatSync(fd).size;
  return {
    size,
    read: (target, position) => readSync(fd, target, 0, target.length, position),
  };
}

export function bytesSource(bytes: Uint8Array): ImageSource {
  return {
    size: bytes.length,
    read(target, position) {
      const n = Math.max(0, Math.min(target.length, bytes.length - position));
      target.set(bytes.subarray(position, position + n));
      return n;
    },
  };
}
