/**
 * Framing of a link: a pure codec, no sockets (see docs/adr/0008-link.md).
 *
 * ```
 * length   u32 LE   bytes that follow: 1 (type) + payload length; never 0
 * type     u8       0..7 reserved for the link itself, 8..255 for its users
 * payload  …        length − 1 bytes
 * ```
 *
 * The decoder copies as little as it can: a frame that lies wholly inside one received chunk is
 * returned as a view into that chunk; a frame spread over several chunks is copied, each byte
 * once, into one buffer of its size, so a large frame fed byte by byte stays linear.
 */
import { OsmoError } from '../core/errors.js';

export const FRAME_HEADER_BYTES = 5;
/** The largest payload the length field can describe. */
export const MAX_ENCODABLE_PAYLOAD = 0xffffffff - 1;

const EMPTY = Buffer.alloc(0);

export interface Frame {
  readonly type: number;
  /**
   * The frame's payload. Often a view into the chunk it arrived in: it keeps that chunk alive,
   * so copy it (`Buffer.from(payload)`) before storing a small part of it for long.
   */
  readonly payload: Buffer;
}

/** The 5 bytes that precede a payload of `payloadLength` bytes. */
export function encodeFrameHeader(type: number, payloadLength: number): Buffer {
  checkHeader(type, payloadLength);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32LE(payloadLength + 1, 0);
  header[4] = type;
  return header;
}

function checkHeader(type: number, payloadLength: number): void {
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    throw new OsmoError('E_INTERNAL', `frame type ${type} is not a byte (0..255)`);
  }
  if (!Number.isInteger(payloadLength) || payloadLength < 0) {
    throw new OsmoError('E_INTERNAL', `frame payload length ${payloadLength} is not a count`);
  }
  if (payloadLength > MAX_ENCODABLE_PAYLOAD) {
    throw new OsmoError(
      'E_INTERNAL',
      `a frame payload of ${payloadLength} bytes does not fit the 32-bit length; split it`,
    );
  }
}

/** Header and payload in one new buffer: for small frames and tests (it copies the payload). */
export function encodeFrame(type: number, payload: Uint8Array = EMPTY): Buffer {
  checkHeader(type, payload.length);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length + 1, 0);
  out[4] = type;
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into frames. `maxFrameBytes` bounds the payload of one frame; a longer
 * (or zero-length) frame makes {@link push} throw E_PROTO_DECODE, and every later push throws
 * the same error: after a framing error the stream cannot be resynchronised.
 */
export class FrameDecoder {
  /** The current frame's header, as far as received. */
  private readonly head = Buffer.alloc(FRAME_HEADER_BYTES);
  private headFill = 0;
  /** Payload length of the current frame, known once `headFill` is 5. */
  private payloadLength = 0;
  /** The current frame's payload, allocated once it is known to span chunks. */
  private body: Buffer | undefined;
  private bodyFill = 0;
  private error: OsmoError | undefined;

  constructor(readonly maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0) {
      throw new OsmoError('E_INTERNAL', `maxFrameBytes ${maxFrameBytes} is not a byte count`);
    }
  }

  /** The error that stopped this decoder, if any. */
  get failed(): OsmoError | undefined {
    return this.error;
  }

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.headFill + this.bodyFill;
  }

  /** Frames completed by `chunk`, in stream order. Payloads may be views into `chunk`. */
  push(chunk: Buffer): Frame[] {
    if (this.error !== undefined) throw this.error;
    const out: Frame[] = [];
    const end = chunk.length;
    let off = 0;

    // 1. Finish the frame left incomplete by earlier chunks.
    if (this.headFill > 0) {
      if (this.headFill < FRAME_HEADER_BYTES) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headFill, end);
        chunk.copy(this.head, this.headFill, 0, n);
        this.headFill += n;
        off = n;
        if (this.headFill < FRAME_HEADER_BYTES) return out;
        this.payloadLength = this.checkLength(this.head.readUInt32LE(0));
      }
      const n = Math.min(this.payloadLength - this.bodyFill, end - off);
      let payload: Buffer;
      if (this.body === undefined && n === this.payloadLength) {
        // Only the header came earlier: the payload is a view, as in step 2.
        payload = chunk.subarray(off, off + n);
      } else {
        // Each byte is copied once, into a buffer of the frame's size: linear however the
        // frame is cut, and copied while the chunk is still in cache.
        this.body ??= Buffer.allocUnsafe(this.payloadLength);
        chunk.copy(this.body, this.bodyFill, off, off + n);
        this.bodyFill += n;
        if (this.bodyFill < this.payloadLength) return out;
        payload = this.body;
      }
      off += n;
      out.push({ type: this.head[4]!, payload });
      this.headFill = 0;
      this.body = undefined;
      this.bodyFill = 0;
    }

    // 2. Frames wholly inside this chunk: views, no copies.
    while (end - off >= FRAME_HEADER_BYTES) {
      const payloadLength = this.checkLength(chunk.readUInt32LE(off));
      const payloadStart = off + FRAME_HEADER_BYTES;
      const frameEnd = payloadStart + payloadLength;
      if (frameEnd > end) break;
      out.push({ type: chunk[off + 4]!, payload: chunk.subarray(payloadStart, frameEnd) });
      off = frameEnd;
    }

    // 3. Keep the start of an incomplete frame.
    if (off < end) {
      const n = Math.min(FRAME_HEADER_BYTES, end - off);
      chunk.copy(this.head, 0, off, off + n);
      this.headFill = n;
      if (n === FRAME_HEADER_BYTES) {
        // Length already checked by the loop above.
        this.payloadLength = this.head.readUInt32LE(0) - 1;
        const start = off + FRAME_HEADER_BYTES;
        if (start < end) {
          this.body = Buffer.allocUnsafe(this.payloadLength);
          this.bodyFill = chunk.copy(this.body, 0, start, end);
        }
      }
    }
    return out;
  }

  /** Returns the payload length for a header length field, or fails the decoder. */
  private checkLength(length: number): number {
    if (length === 0) {
      this.fail('a frame with length 0 (no type byte): the peer is not speaking the link framing');
    }
    if (length - 1 > this.maxFrameBytes) {
      this.fail(
        `a frame of ${length - 1} payload bytes exceeds the limit of ${this.maxFrameBytes} ` +
          '(maxFrameBytes); the peer is misbehaving or configured with a larger limit',
      );
    }
    return length - 1;
  }

  private fail(message: string): never {
    this.error = new OsmoError('E_PROTO_DECODE', message);
    this.body = undefined;
    this.bodyFill = 0;
    this.headFill = 0;
    throw this.error;
  }
}
