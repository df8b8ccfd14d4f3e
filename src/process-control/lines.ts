/**
 * Splits a byte stream into newline-terminated lines with a hard size limit. Works on bytes, not
 * strings, so the limit is in bytes and a UTF-8 character split across chunks survives. Each
 * chunk is scanned once: feeding a large line byte by byte stays linear.
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  /** True (for good) once a line grew past `maxBytes`; the peer must then be cut off. */
  overflow = false;

  constructor(readonly maxBytes: number) {}

  /** Complete, non-blank lines (without the newline) found so far. */
  push(chunk: Uint8Array): string[] {
    const out: string[] = [];
    if (this.overflow) return out;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxBytes) {
        this.fail();
        return out;
      }
      const line =
        this.size === 0
          ? Buffer.from(piece.buffer, piece.byteOffset, piece.length).toString('utf8')
          : Buffer.concat([...this.parts, piece]).toString('utf8');
      this.parts = [];
      this.size = 0;
      if (line.trim() !== '') out.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.size + rest.length > this.maxBytes) {
        this.fail();
        return out;
      }
      // Copied: the caller may reuse its buffer.
      this.parts.push(Buffer.from(rest));
      this.size += rest.length;
    }
    return out;
  }

  /** Bytes of an unfinished line held. */
  get pendingBytes(): number {
    return this.size;
  }

  private fail(): void {
    this.overflow = true;
    this.parts = [];
    this.size = 0;
  }
}
