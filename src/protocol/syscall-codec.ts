/**
 * One codec for every deputy system call, driven by the kinds in syscall-table.ts.
 *
 * Request:  u16 op, u16 0, then each argument (little-endian):
 *   u32 | u64 | str (u32 length + UTF-8) | data (u32 length + bytes) | dest (u32 capacity)
 *   | subs (u32 count + 32 bytes each)
 * Response: u32 errno, then on success the result:
 *   u32 | u64 | fdstat | filestat | bytes (u32 length + bytes) | dirents | events
 *   | count/recv: u32 n @4, u32 roflags @8, u32 ahead @12 (0 here; read-ahead: bytes of the
 *     file that follow, placed after the data by a deputy serving a program away), the n bytes
 *     @16 (RESPONSE_DATA_OFFSET).
 *
 * Decoding never trusts a length: every read is bounds-checked and a bad message raises
 * E_PROTO_DECODE. 'data' arguments decode as views into the request buffer (no copy) and 'dest'
 * arguments as views into the response buffer, so a read lands where the response carries it.
 */
import { OsmoError } from '../core/errors.js';
import type { Dirent, Event, Fdstat, Filestat, Filetype, Subscription } from '../wasi/abi.js';
import { Eventtype } from '../wasi/abi.js';
import type { Result } from '../wasi/backend.js';
import type { ArgKind, ResultKind } from './syscall-table.js';
import { RESPONSE_DATA_OFFSET, SYSCALLS } from './syscall-table.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export type ClientArg =
  number | bigint | string | Uint8Array | readonly Uint8Array[] | Subscription[];
export type ServerArg = number | bigint | string | Uint8Array | Subscription[];

function overflow(what: string): never {
  throw new OsmoError('E_PROTO_DECODE', `syscall message ${what} runs past its buffer`);
}

/** A bounds-checked little-endian cursor over a DataView window. */
class Cursor {
  constructor(
    readonly view: DataView,
    public pos: number,
    readonly end: number,
  ) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.end) overflow(what);
  }
  u8(): number {
    this.need(1, 'u8');
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2, 'u16');
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4, 'u32');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8, 'u64');
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n, 'bytes');
    const v = new Uint8Array(this.view.buffer, this.view.byteOffset + this.pos, n);
    this.pos += n;
    return v;
  }
  putU8(v: number): void {
    this.need(1, 'u8');
    this.view.setUint8(this.pos++, v);
  }
  putU16(v: number): void {
    this.need(2, 'u16');
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  putU32(v: number): void {
    this.need(4, 'u32');
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }
  putU64(v: bigint): void {
    this.need(8, 'u64');
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }
  putBytes(chunks: Uint8Array | readonly Uint8Array[]): void {
    const list = chunks instanceof Uint8Array ? [chunks] : chunks;
    let total = 0;
    for (const c of list) total += c.length;
    this.putU32(total);
    this.need(total, 'bytes');
    const dest = new Uint8Array(this.view.buffer, this.view.byteOffset, this.view.byteLength);
    for (const c of list) {
      dest.set(c, this.pos);
      this.pos += c.length;
    }
  }
  putString(s: string): void {
    const bytes = encoder.encode(s);
    this.putBytes(bytes);
  }
}

const SUB_SIZE = 32;

function specOf(op: number): (typeof SYSCALLS)[number] {
  const spec = SYSCALLS[op];
  if (spec === undefined) throw new OsmoError('E_PROTO_DECODE', `unknown syscall op ${op}`);
  return spec;
}

/** Encodes a request into view[0, view.byteLength); returns its length. */
export function encodeRequest(view: DataView, op: number, args: readonly ClientArg[]): number {
  const spec = specOf(op);
  const c = new Cursor(view, 0, view.byteLength);
  c.putU16(op);
  c.putU16(0);
  spec.args.forEach((kind: ArgKind, i) => {
    const a = args[i];
    switch (kind) {
      case 'u32':
      case 'dest':
        c.putU32(a as number);
        break;
      case 'u64':
        c.putU64(a as bigint);
        break;
      case 'str':
        c.putString(a as string);
        break;
      case 'data':
        c.putBytes(a as Uint8Array | Uint8Array[]);
        break;
      case 'subs': {
        const subs = a as Subscription[];
        c.putU32(subs.length);
        for (const s of subs) {
          const start = c.pos;
          c.putU64(s.userdata);
          c.putU8(s.type);
          c.putU8(0);
          c.putU16(s.type === Eventtype.CLOCK ? s.flags : 0);
          c.putU32(s.type === Eventtype.CLOCK ? s.clockId : s.fd);
          c.putU64(s.type === Eventtype.CLOCK ? s.timeout : 0n);
          c.putU64(s.type === Eventtype.CLOCK ? s.precision : 0n);
          c.pos = start + SUB_SIZE;
        }
        break;
      }
    }
  });
  return c.pos;
}

export interface DecodedRequest {
  op: number;
  name: string;
  args: ServerArg[];
}

/**
 * Decodes a request. `response` is the buffer the answer will be written to: 'dest' arguments
 * become views into it at RESPONSE_DATA_OFFSET, clamped to its capacity.
 */
export function decodeRequest(view: DataView, length: number, response: DataView): DecodedRequest {
  const c = new Cursor(view, 0, Math.min(length, view.byteLength));
  const op = c.u16();
  c.u16();
  const spec = specOf(op);
  const args: ServerArg[] = spec.args.map((kind: ArgKind): ServerArg => {
    switch (kind) {
      case 'u32':
        return c.u32();
      case 'u64':
        return c.u64();
      case 'str':
        return decoder.decode(c.bytes(c.u32()));
      case 'data':
        return c.bytes(c.u32());
      case 'dest': {
        const cap = Math.min(c.u32(), response.byteLength - RESPONSE_DATA_OFFSET);
        return new Uint8Array(response.buffer, response.byteOffset + RESPONSE_DATA_OFFSET, cap);
      }
      case 'subs': {
        const n = c.u32();
        c.need(n * SUB_SIZE, 'subscriptions');
        const subs: Subscription[] = [];
        for (let i = 0; i < n; i++) {
          const start = c.pos;
          const userdata = c.u64();
          const type = c.u8();
          c.u8();
          const flags = c.u16();
          const id = c.u32();
          const timeout = c.u64();
          const precision = c.u64();
          c.pos = start + SUB_SIZE;
          if (type === Eventtype.CLOCK) {
            subs.push({ userdata, type: Eventtype.CLOCK, clockId: id, timeout, precision, flags });
          } else if (type === Eventtype.FD_READ || type === Eventtype.FD_WRITE) {
            subs.push({ userdata, type, fd: id });
          } else {
            throw new OsmoError('E_PROTO_DECODE', `unknown subscription type ${type}`);
          }
        }
        return subs;
      }
    }
  });
  return { op, name: spec.name, args };
}

export type ResultValue =
  | number
  | bigint
  | Fdstat
  | Filestat
  | Uint8Array
  | Dirent[]
  | Event[]
  | { size: number; roflags: number }
  | { data: Uint8Array; roflags: number }
  | undefined;

/**
 * Encodes a backend answer (an errno or a Result) into `view`; returns the response length.
 * For 'count'/'recv' the bytes are already in place (the dest view pointed there).
 */
export function encodeResponse(
  view: DataView,
  op: number,
  answer: number | Result<ResultValue>,
): number {
  const kind: ResultKind = specOf(op).result;
  const c = new Cursor(view, 0, view.byteLength);
  if (typeof answer === 'number') {
    c.putU32(answer);
    return c.pos;
  }
  if (!answer.ok) {
    c.putU32(answer.errno === 0 ? 29 /* EIO: a failure must not read as success */ : answer.errno);
    return c.pos;
  }
  c.putU32(0);
  const v = answer.value;
  switch (kind) {
    case 'none':
      break;
    case 'u32':
      c.putU32(v as number);
      break;
    case 'u64':
      c.putU64(v as bigint);
      break;
    case 'fdstat': {
      const s = v as Fdstat;
      c.putU8(s.filetype);
      c.putU8(0);
      c.putU16(s.flags);
      c.putU64(s.rightsBase);
      c.putU64(s.rightsInheriting);
      break;
    }
    case 'filestat': {
      const s = v as Filestat;
      c.putU64(s.dev);
      c.putU64(s.ino);
      c.putU8(s.filetype);
      c.putU8(0);
      c.putU16(0);
      c.putU64(s.nlink);
      c.putU64(s.size);
      c.putU64(s.atim);
      c.putU64(s.mtim);
      c.putU64(s.ctim);
      break;
    }
    case 'bytes':
      c.putBytes(v as Uint8Array);
      break;
    case 'dirents': {
      const list = v as Dirent[];
      c.putU32(list.length);
      for (const d of list) {
        c.putU64(d.next);
        c.putU64(d.ino);
        c.putU8(d.type);
        c.putBytes(d.name);
      }
      break;
    }
    case 'events': {
      const list = v as Event[];
      c.putU32(list.length);
      for (const e of list) {
        c.putU64(e.userdata);
        c.putU16(e.error);
        c.putU8(e.type);
        c.putU16(e.flags);
        c.putU64(e.nbytes);
      }
      break;
    }
    case 'count':
    case 'recv': {
      const r =
        typeof v === 'number' ? { size: v, roflags: 0 } : (v as { size: number; roflags: number });
      c.putU32(r.size);
      c.putU32(r.roflags);
      c.putU32(0); // bytes read ahead after the data (docs/protocol.md): none unless added
      c.pos = RESPONSE_DATA_OFFSET + r.size;
      if (c.pos > view.byteLength) overflow('read data');
      break;
    }
  }
  return c.pos;
}

/** Decodes a response. 'count'/'recv' data comes back as a view into `view` (valid until reuse). */
export function decodeResponse(view: DataView, length: number, op: number): Result<ResultValue> {
  const kind: ResultKind = specOf(op).result;
  const c = new Cursor(view, 0, Math.min(length, view.byteLength));
  const errno = c.u32();
  if (errno !== 0) return { ok: false, errno };
  switch (kind) {
    case 'none':
      return { ok: true, value: undefined };
    case 'u32':
      return { ok: true, value: c.u32() };
    case 'u64':
      return { ok: true, value: c.u64() };
    case 'fdstat': {
      const filetype = c.u8() as Filetype;
      c.u8();
      const flags = c.u16();
      return {
        ok: true,
        value: { filetype, flags, rightsBase: c.u64(), rightsInheriting: c.u64() },
      };
    }
    case 'filestat': {
      const dev = c.u64();
      const ino = c.u64();
      const filetype = c.u8() as Filetype;
      c.u8();
      c.u16();
      return {
        ok: true,
        value: {
          dev,
          ino,
          filetype,
          nlink: c.u64(),
          size: c.u64(),
          atim: c.u64(),
          mtim: c.u64(),
          ctim: c.u64(),
        },
      };
    }
    case 'bytes':
      return { ok: true, value: c.bytes(c.u32()) };
    case 'dirents': {
      const n = c.u32();
      const list: Dirent[] = [];
      for (let i = 0; i < n; i++) {
        const next = c.u64();
        const ino = c.u64();
        const type = c.u8() as Filetype;
        list.push({ next, ino, type, name: c.bytes(c.u32()) });
      }
      return { ok: true, value: list };
    }
    case 'events': {
      const n = c.u32();
      const list: Event[] = [];
      for (let i = 0; i < n; i++) {
        const userdata = c.u64();
        const error = c.u16();
        const type = c.u8();
        const flags = c.u16();
        list.push({ userdata, error, type, flags, nbytes: c.u64() });
      }
      return { ok: true, value: list };
    }
    case 'count':
    case 'recv': {
      const size = c.u32();
      const roflags = c.u32();
      c.pos = RESPONSE_DATA_OFFSET;
      const data = c.bytes(size);
      return { ok: true, value: kind === 'count' ? data : { data, roflags } };
    }
  }
}
