/**
 * Moving an image over a link: IMAGE frames in order, then IMAGE_END. The sender honours the
 * link's back-pressure, so a 1 GiB image never sits in memory. An image comes from a stopped
 * program's memory (a move: {@link streamImageTo}) or from a file; it goes into a program being
 * restored (LocalGuest.imageFeed, which checks the image as it comes) or into a file, taken as
 * whole only once IMAGE_END arrived (and, when a size was announced, that size matched; the
 * image's own END section and checksums are checked when it is opened).
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { OsmoError } from '../core/errors.js';
import type { LinkConnection } from '../link/index.js';
import type { DeputyStateOf, LocalGuest } from '../runtime/local-guest.js';
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

/**
 * Stops `guest` and streams its image straight from its memory as IMAGE frames, then
 * IMAGE_END; the program stays held there (LocalGuest.streamImage). Resolves with the bytes sent.
 */
export async function streamImageTo(
  link: LinkConnection,
  guest: LocalGuest,
  deputy: DeputyStateOf,
  /** Called after each piece with the bytes sent so far (fault injection). */
  onProgress?: (sent: number) => void,
): Promise<number> {
  let sent = 0;
  const lost = link.closed.then((error) => {
    throw error ?? new OsmoError('E_LINK', 'the link closed while the image was being sent');
  });
  lost.catch(() => undefined);
  await guest.streamImage((piece) => {
    sent += piece.length;
    // Done with the piece once the kernel has it: its buffer then carries a later piece.
    const flushed = new Promise<void>((resolve, reject) =>
      link.send(Frame.IMAGE, piece, (error) => (error ? reject(error) : resolve())),
    );
    onProgress?.(sent);
    return Promise.race([flushed, lost]);
  }, deputy);
  link.send(Frame.IMAGE_END);
  return sent;
}

/** Where the IMAGE frames of one image go, in order. */
export interface IncomingImage {
  /** One IMAGE frame. A promise returned means: take no more frames until it settles. */
  push(piece: Uint8Array): void | Promise<void>;
  /** IMAGE_END arrived; throws if what arrived cannot be whole. */
  end(): void;
  /** The frames stopped coming (a cut link). */
  abort(why: string): void;
}

/** Collects IMAGE frames into a file. */
export class ImageReceiver implements IncomingImage {
  private fd: number | undefined;
  private received = 0;

  constructor(
    readonly file: string,
    /** The size announced, if any (a stream's size is not known before its end). */
    readonly expectedBytes?: number,
  ) {
    this.fd = openSync(file, 'w', 0o600);
  }

  /** One IMAGE frame. */
  push(piece: Uint8Array): void {
    if (this.fd === undefined) throw new OsmoError('E_PROTO_DECODE', 'image data after its end');
    this.received += piece.length;
    if (this.expectedBytes !== undefined && this.received > this.expectedBytes) {
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
    if (this.expectedBytes !== undefined && this.received !== this.expectedBytes) {
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

/**
 * Passes an image on to another link as it arrives (a move from one node to another goes
 * through home: the image is sent once, not received whole and then sent), keeping a copy in a
 * file: the fallback if the target is lost before the program's first system call. Back-pressure
 * goes upstream: while the target's link is full, push asks its caller to stop reading. A target
 * that fails does not fail the incoming transfer — the copy is completed, the source still holds
 * its own, and {@link targetFailure} says why the target did not get it.
 */
export class ImageRelay implements IncomingImage {
  private failure: Error | undefined;

  constructor(
    private readonly copy: ImageReceiver,
    private readonly target: LinkConnection,
  ) {}

  /** Why the image did not get to the target, if it did not. */
  get targetFailure(): Error | undefined {
    return this.failure;
  }

  push(piece: Uint8Array): Promise<void> | undefined {
    this.copy.push(piece); // throws if the copy cannot be written: the move then fails whole
    if (this.failure !== undefined) return undefined;
    try {
      if (this.target.send(Frame.IMAGE, piece)) return undefined;
      return this.target.drain().catch((error: unknown) => this.fail(error));
    } catch (error) {
      this.fail(error);
      return undefined;
    }
  }

  end(): string {
    const file = this.copy.end();
    if (this.failure === undefined) {
      try {
        this.target.send(Frame.IMAGE_END);
      } catch (error) {
        this.fail(error);
      }
    }
    return file;
  }

  abort(why: string): void {
    this.copy.abort();
    this.failure ??= new OsmoError('E_LINK', `the image stopped coming: ${why}`);
  }

  private fail(error: unknown): void {
    this.failure ??=
      error instanceof Error
        ? error
        : new OsmoError('E_LINK', `the target failed: ${String(error)}`);
  }
}
