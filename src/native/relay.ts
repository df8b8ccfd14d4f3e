/**
 * One stream of a native program over its link (native-wire.ts): each chunk as a frame, the
 * stream paused while the link cannot take more (or, for stdin, while its window is full), so a
 * fast writer waits instead of filling memory. Once the link is gone the stream is still read
 * and the chunks dropped, so that what writes into it is never stuck and can end.
 */
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

/**
 * Settles once `stream` has room again, or never will (ended or closed: no 'drain' then; an
 * error closes it). Its listeners go when it settles: a stream that fills again and again
 * (a slow reader) must not collect them (events.once's race left two behind each time). Callers
 * waiting at once share one wait: the frames of one read from the link are written before the
 * link pauses, and each that finds the stream full asks (11 at once on Node 24 in CI: Node's
 * leak warning on stderr).
 */
export function roomIn(stream: Writable): Promise<void> {
  const pending = waitingForRoom.get(stream);
  if (pending !== undefined) return pending;
  const room = settledBy(stream, (done) => {
    stream.on('drain', done);
    return () => stream.off('drain', done);
  }).finally(() => waitingForRoom.delete(stream));
  waitingForRoom.set(stream, room);
  return room;
}

const waitingForRoom = new WeakMap<Writable, Promise<void>>();

/**
 * Settles once everything written to `stream` so far has reached its file: an empty write's
 * callback comes after those before it. Before a process.exit(), which drops what a pipe has not
 * taken yet (the tail of a program's output, seen in CI: cut at 192 KiB).
 */
export function whenWritten(stream: Writable): Promise<void> {
  if (stream.writableLength === 0) return Promise.resolve();
  return settledBy(stream, (done) => {
    stream.write(Buffer.alloc(0), done);
    return () => undefined;
  });
}

/** Settles when `arm`'s callback is called or `stream` closes, whichever comes first. */
function settledBy(stream: Writable, arm: (done: () => void) => () => void): Promise<void> {
  if (stream.destroyed) return Promise.resolve(); // closed already: no 'close' to come
  return new Promise((resolve) => {
    let disarm = (): void => undefined;
    const done = (): void => {
      stream.off('close', done);
      disarm();
      resolve();
    };
    stream.on('close', done);
    disarm = arm(done);
  });
}
