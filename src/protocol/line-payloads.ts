/**
 * JSON lines where a line may announce raw bytes that follow it: a mailbox message travels as
 * itself after a small header line instead of as base64 inside the line, which cost each hop
 * more than the rest of it (encoding, escaping and writing a 87 KB string per 64 KiB message).
 * Lines keep LineDecoder's byte limit; a payload has a limit of its own.
 */
import { LineDecoder, isRecord } from './json-lines.js';

export interface LineWithPayload {
  readonly line: string;
  /** The raw bytes the line announced, when it announced any. */
  readonly payload?: Buffer;
}

/**
 * How many raw bytes follow `line` (undefined: it announces none; 0 is an empty payload), or −1
 * when it announces one it may not have (not a count): the stream can then not be followed and
 * must be cut off, as must one past the decoder's payload limit.
 */
export type PayloadBytesOf = (line: string) => number | undefined;

export class LinePayloadDecoder {
  private readonly lines: LineDecoder;
  /** The line whose payload is being collected, and what of it arrived. */
  private awaiting: { line: string; need: number; parts: Buffer[]; have: number } | undefined;
  /** True (for good) once a line or a payload broke the limits; the peer must then be cut off. */
  overflow = false;

  constructor(
    maxLineBytes: number,
    private readonly maxPayloadBytes: number,
    private readonly payloadBytesOf: PayloadBytesOf,
  ) {
    this.lines = new LineDecoder(maxLineBytes);
  }

  push(chunk: Uint8Array): LineWithPayload[] {
    const out: LineWithPayload[] = [];
    let at = 0;
    while (at < chunk.length && !this.overflow) {
      if (this.awaiting !== undefined) {
        at = this.collect(chunk, at, out);
        continue;
      }
      // At most one line at a time: what follows it may be its payload, not lines.
      const nl = chunk.indexOf(10, at);
      const end = nl < 0 ? chunk.length : nl + 1;
      const found = this.lines.push(chunk.subarray(at, end));
      at = end;
      if (this.lines.overflow) this.overflow = true;
      for (const line of found) this.announce(line, out);
    }
    return out;
  }

  private announce(line: string, out: LineWithPayload[]): void {
    const need = this.payloadBytesOf(line);
    if (need === undefined) out.push({ line });
    else if (need < 0 || need > this.maxPayloadBytes) this.overflow = true;
    else if (need === 0) out.push({ line, payload: Buffer.alloc(0) });
    else this.awaiting = { line, need, parts: [], have: 0 };
  }

  private collect(chunk: Uint8Array, at: number, out: LineWithPayload[]): number {
    const a = this.awaiting!;
    const take = Math.min(a.need - a.have, chunk.length - at);
    // Copied: the caller may reuse its buffer.
    a.parts.push(Buffer.from(chunk.subarray(at, at + take)));
    a.have += take;
    if (a.have === a.need) {
      out.push({
        line: a.line,
        payload: a.parts.length === 1 ? a.parts[0]! : Buffer.concat(a.parts),
      });
      this.awaiting = undefined;
    }
    return at + take;
  }
}

/**
 * The {@link PayloadBytesOf} of a JSON-lines request protocol ({v, id, op, args}) whose ops
 * `ops` may carry raw bytes: `args.dataBytes` of such a request (undefined for any other line);
 * −1 for a `dataBytes` that is not a whole count. Only lines that mention it are parsed, so other
 * requests cost one substring search more.
 */
export function payloadBytesIn(ops: readonly string[]): PayloadBytesOf {
  return (line) => {
    if (!line.includes('"dataBytes"')) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return undefined; // the protocol's parser answers it
    }
    const args =
      isRecord(value) && ops.includes(value.op as string) && isRecord(value.args)
        ? value.args
        : undefined;
    if (args === undefined || !('dataBytes' in args)) return undefined;
    const n = args.dataBytes;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : -1;
  };
}

/**
 * Whether an answer says that its sender takes raw bytes after a request (`rawData: true`): a
 * client sends its first message of a connection in base64, and raw once it has seen this. An
 * older peer never says it, so it never gets bytes it would misread.
 */
export function saysRawData(result: unknown): boolean {
  return isRecord(result) && result.rawData === true;
}

/**
 * How a request's bytes appear in its args: announced (`dataBytes`; the bytes go after the
 * request) to a peer that takes them raw, else inside it in base64 (`data`).
 */
export function payloadArgs(
  payload: Buffer,
  raw: boolean,
): { dataBytes: number } | { data: string } {
  return raw ? { dataBytes: payload.length } : { data: payload.toString('base64') };
}

/** Writes a request's line and the raw bytes it announced, as one writev, the bytes not copied. */
export function writeLineWithPayload(
  socket: { cork(): void; uncork(): void; write(chunk: string | Uint8Array): boolean },
  line: string,
  payload: Uint8Array,
): void {
  socket.cork();
  socket.write(line);
  socket.write(payload);
  socket.uncork();
}
