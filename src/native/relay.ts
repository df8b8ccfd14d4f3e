/**
 * One stream of a native program over its link (native-wire.ts): each chunk as a frame, the
 * stream paused while the link cannot take more, so a fast writer waits instead of filling
 * memory. Once the link is gone the stream is still read and the chunks dropped, so that what
 * writes into it is never stuck and can end.
 */
import type { Readable } from 'node:stream';
import type { LinkConnection } from '../link/index.js';

export function relayStream(stream: Readable, link: LinkConnection, frameType: number): void {
  stream.on('data', (chunk: Buffer) => {
    if (link.state !== 'open') return;
    if (!link.send(frameType, chunk)) {
      stream.pause();
      const resume = (): void => void stream.resume();
      link.drain().then(resume, resume);
    }
  });
}
