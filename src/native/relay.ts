/**
 * One stream of a native program over its link (native-wire.ts): each chunk as a frame, the
 * stream paused while the link cannot take more (or, for stdin, while its window is full), so a
 * fast writer waits instead of filling memory. Once the link is gone the stream is still read
 * and the chunks dropped, so that what writes into it is never stuck and can end.
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { LinkConnection } from '../link/index.js';
import type { StdinWindow } from './stdin-window.js';

export function relayStream(
  stream: Readable,
  link: LinkConnection,
  frameType: number,
  window?: StdinWindow,
): void {
  stream.on('data', (chunk: Buffer) => {
    if (link.state !== 'open') return;
    const waits: Promise<unknown>[] = [];
    if (!link.send(frameType, chunk)) waits.push(link.drain());
    const room = window?.spend(chunk.length);
    if (room !== undefined) waits.push(room);
    if (waits.length > 0) {
      stream.pause();
      void Promise.allSettled(waits).then(() => stream.resume());
    }
  });
}

/** Settles once `stream` has room again, or never will (ended or closed: no 'drain' then). */
export function roomIn(stream: Writable): Promise<unknown> {
  return Promise.race([once(stream, 'drain'), once(stream, 'close')]);
}

/**
 * Settles once everything written to `stream` so far has reached its file: an empty write's
 * callback comes after those before it. Before a process.exit(), which drops what a pipe has not
 * taken yet (the tail of a program's output, seen in CI: cut at 192 KiB).
 */
export function whenWritten(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.write(Buffer.alloc(0), () => resolve());
  });
}
