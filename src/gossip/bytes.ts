/**
 * Minimal byte reader/writer for the gossip codec: LEB128 varints (up to 2^53 − 1, the safe
 * integer range), zigzag for signed values, float32, and length-prefixed UTF-8. The reader never
 * reads past its input: every violation raises a {@link ByteFault} carrying a reason and the
 * offset, which the decoder turns into a result value — callers never see a thrown error.
 */

export type ByteFaultReason =
  | 'truncated'
  | 'bad-varint'
  | 'bad-utf8'
  | 'bad-float'
  | 'limit'
  | 'bad-magic'
  | 'unsupported-version'
  | 'unknown-kind'
  | 'bad-index'
  | 'empty-window'
  | 'trailing-bytes'
  | 'too-large';

/** Internal to the codec: always caught by decodeWindow and turned into a result. */
export class ByteFault extends Error {
  constructor(
    readonly reason: ByteFaultReason,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ByteFault';
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  fail(reason: ByteFaultReason, detail: string): never {
    throw new ByteFault(reason, this.pos, detail);
  }

  u8(): number {
    if (this.pos >= this.bytes.length) this.fail('truncated', 'expected 1 more byte');
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 varint ≤ 2^53 − 1; rejects overlong encodings so each value has one form. */
  uvarint(): number {
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) this.fail('bad-varint', `overlong varint at ${start}`);
        if (result > Number.MAX_SAFE_INTEGER)
          this.fail('bad-varint', `varint at ${start} exceeds 2^53`);
        return result;
      }
      scale *= 128;
    }
    return this.fail('bad-varint', `varint at ${start} longer than 8 bytes`);
  }

  /** Zigzag-encoded signed varint. */
  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  uvarintAtMost(max: number, what: string): number {
    const at = this.pos;
    const v = this.uvarint();
    if (v > max) throw new ByteFault('limit', at, `${what} ${v} exceeds ${max}`);
    return v;
  }

  f32(): number {
    if (this.remaining < 4) this.fail('truncated', 'expected a 4-byte float');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  utf8(maxBytes: number): string {
    const length = this.uvarintAtMost(maxBytes, 'string length');
    if (this.remaining < length) this.fail('truncated', `string of ${length} bytes`);
    const at = this.pos;
    this.pos += length;
    try {
      return utf8Decoder.decode(this.bytes.subarray(at, at + length));
    } catch {
      throw new ByteFault('bad-utf8', at, 'string is not valid UTF-8');
    }
  }

  skip(length: number): void {
    if (this.remaining < length) this.fail('truncated', `${length} bytes to skip`);
    this.pos += length;
  }
}

export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v & 0xff;
  }

  uvarint(v: number): void {
    if (!(Number.isSafeInteger(v) && v >= 0)) {
      throw new RangeError(`cannot encode ${v} as an unsigned varint`);
    }
    this.reserve(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  svarint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.len, v, true);
    this.len += 4;
  }

  utf8(s: string): void {
    const bytes = utf8Encoder.encode(s);
    this.uvarint(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
