/**
 * Moving an image file over a link: IMAGE frames of {@link IMAGE_CHUNK_BYTES} in order, then
 * IMAGE_END. The sender honours the link's back-pressure, so a 1 GiB image never sits in memory;
 * the receiver writes each piece as it comes and takes the file as whole only when the byte
 * count announced beforehand matches (a cut link never leaves a half image taken as whole).
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { OsmoError } from '../core/errors.js';
import type { LinkConnection } from '../link/index.js';
import { Frame, IMAGE_CHUNK_BYTES } from './runner-wire.js';

/** Sends the file's bytes as IMAGE frames and IMAGE_END; resolves when all are handed to the socket. */
export async function sendImageFile(
  link: LinkConnection,
  file: string,
  /** Called after each piece with the bytes sent so far (fault injection). */
  onProgress?: (sent: number) => void,
): Promise<number> {
  const handle = await open(file, 'r');
  let sent = 0;
  try {
    for (;;) {
      // A fresh buffer per piece: the socket may still hold the previous one.
      const piece = Buffer.allocUnsafe(IMAGE_CHUNK_BYTES);
      const { bytesRead } = await handle.read(piece, 0, piece.length, null);
      if (bytesRead === 0) break;
      sent += bytesRead;
      if (!link.send(Frame.IMAGE, piece.subarray(0, bytesRead))) await link.drain();
      onProgress?.(sent);
    }
  } finally {
    await handle.close();
  }
  link.send(Frame.IMAGE_END);
  return sent;
}

/** Collects IMAGE frames into a file. */
export class ImageReceiver {
  private fd: number | undefined;
  private received = 0;

  constructor(
    readonly file: string,
    readonly expectedBytes: number,
  ) {
    this.fd = openSync(file, 'w', 0o600);
  }

  /** One IMAGE frame. */
  push(piece: Uint8Array): void {
    if (this.fd === undefined) throw new OsmoError('E_PROTO_DECODE', 'image data after its end');
    this.received += piece.length;
    if (this.received > this.expectedBytes) {
      this.abort();
      throw new OsmoError(
        'E_PROTO_DECODE',
        `image longer than the ${this.expectedBytes} bytes announced`,
      );
    }
    let at = 0;
    while (at < piece.length) at += writeSync(this.fd, piece, at);
  }

  /** IMAGE_END: the file is complete, or refused and removed. */
  end(): string {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.received !== this.expectedBytes) {
      this.remove();
      throw new OsmoError(
        'E_SNAPSHOT_CORRUPT',
        `image cut short: ${this.received} of ${this.expectedBytes} bytes arrived`,
      );
    }
    return this.file;
  }

  /** The transfer failed: drop what arrived. */
  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.remove();
  }

  private remove(): void {
    try {
      unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}
