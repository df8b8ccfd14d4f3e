/**
 * JSON lines, the framing of both control APIs (the daemon's and each process's): a line decoder
 * with a byte limit, and the request envelope every request shares ({v, id, op, …}). Each
 * protocol keeps its own ops, arguments and messages.
 */
import type { SerializedError } from '../core/errors.js';

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

/** A request line's envelope, or the error to answer it with. */
export type RequestEnvelope =
  | {
      readonly ok: true;
      readonly id: number;
      readonly op: string;
      readonly value: Record<string, unknown>;
    }
  | { readonly ok: false; readonly id: number; readonly error: SerializedError };

export interface EnvelopeSpec {
  version: number;
  /** The message for a request of another version `got` (each API words its own). */
  versionMismatch(got: unknown): string;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses what every request has: a JSON object with a safe-integer `id`, the version, an op. */
export function parseRequestEnvelope(line: string, spec: EnvelopeSpec): RequestEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return envelopeError(0, 'E_PROTO_DECODE', 'request is not JSON');
  }
  if (!isRecord(value)) return envelopeError(0, 'E_PROTO_DECODE', 'request must be a JSON object');
  const id = typeof value.id === 'number' && Number.isSafeInteger(value.id) ? value.id : 0;
  if (value.v !== spec.version) {
    return envelopeError(id, 'E_PROTO_VERSION', spec.versionMismatch(value.v));
  }
  if (typeof value.op !== 'string') {
    return envelopeError(id, 'E_PROTO_DECODE', 'request has no "op" string');
  }
  return { ok: true, id, op: value.op, value };
}

export function envelopeError(
  id: number,
  code: SerializedError['code'],
  message: string,
): { ok: false; id: number; error: SerializedError } {
  return { ok: false, id, error: { code, message } };
}
