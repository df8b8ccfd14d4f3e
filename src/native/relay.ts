/**
 * One stream of a native program over its link (native-wire.ts): each chunk as a frame, the
 * stream paused while the link cannot take more (or, for stdin, while its window is full), so a
 * fast writer waits instead of filling memory. Once the link is gone the stream is still read
 * and the chunks dropped, so that what writes into it is never stuck and can end.
 */
import type { Readable } from 'node:stream';
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
