/**
 * Encoders and decoders of the small (non-memory) section payloads. Decoders get the payload after
 * its CRC matched, yet still check every length against the limits and the payload end: a CRC
 * protects against damage, not against a writer bug or a crafted file.
 */
import { corrupt } from './errors.js';
import {
  END_BYTES,
  GlobalTypeCode,
  MEMORY_INFO_BYTES,
  SectionType,
  WASM_PAGE_LOG2,
} from './format.js';
import type { ImageLimits } from './format.js';
import type { GlobalType, SnapshotGlobal, SnapshotStack } from './types.js';
import { OsmoError } from '../core/errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function badInput(what: string): OsmoError {
  return new OsmoError('E_SNAPSHOT_WRITE', `cannot write snapshot image: ${what}`);
}

/** A bounds-checked little-endian reader over one section payload; `base` is its file offset. */
class Cursor {
  private readonly view: DataView;
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly section: number,
    private readonly base: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(what: string): never {
    throw corrupt(this.section, this.base + this.pos, what);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) this.fail(`${what} runs past the section end`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytesOf(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  utf8(n: number, what: string): string {
    const raw = this.bytesOf(n, what);
    try {
      return decoder.decode(raw);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }
  end(): void {
    if (this.pos !== this.bytes.length) this.fail(`${this.bytes.length - this.pos} stray bytes`);
  }
}

/** Growable little-endian writer for the small sections. */
class Builder {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.room(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
    return this;
  }
  u64(v: bigint): this {
    this.room(8);
    this.view.setBigUint64(this.len, v, true);
    this.len += 8;
    return this;
  }
  i32(v: number): this {
    this.room(4);
    this.view.setInt32(this.len, v, true);
    this.len += 4;
    return this;
  }
  i64(v: bigint): this {
    this.room(8);
    this.view.setBigInt64(this.len, v, true);
    this.len += 8;
    return this;
  }
  f32(v: number): this {
    this.room(4);
    this.view.setFloat32(this.len, v, true);
    this.len += 4;
    return this;
  }
  f64(v: number): this {
    this.room(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
    return this;
  }
  bytes(v: Uint8Array): this {
    this.room(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const U64_MAX = (1n << 64n) - 1n;
const GLOBAL_TYPES = Object.keys(GlobalTypeCode) as GlobalType[];

function encodeName(name: string, what: string, maxBytes: number): Uint8Array {
  const raw = encoder.encode(name);
  if (raw.length === 0 || raw.length > maxBytes) {
    throw badInput(`${what} name ${JSON.stringify(name)} must be 1..${maxBytes} UTF-8 bytes`);
  }
  return raw;
}

// ---- MEMORY_INFO ---------------------------------------------------------------------------

export function encodeMemoryInfo(pages: number): Uint8Array {
  return new Builder().u32(pages).u32(WASM_PAGE_LOG2).done();
}

export function decodeMemoryInfo(payload: Uint8Array, base: number, limits: ImageLimits): number {
  const c = new Cursor(payload, SectionType.MEMORY_INFO, base);
  if (payload.length < MEMORY_INFO_BYTES) c.fail('MEMORY_INFO is too short');
  const pages = c.u32('page count');
  if (pages > limits.maxMemoryPages) {
    c.fail(`memory of ${pages} pages exceeds the limit of ${limits.maxMemoryPages}`);
  }
  const log2 = c.u32('page size');
  if (log2 !== WASM_PAGE_LOG2) c.fail(`page size 2^${log2} is not 64 KiB`);
  // Later minors may append fields; they are ignored (docs/snapshot-format.md, versioning).
  return pages;
}

// ---- GLOBALS -------------------------------------------------------------------------------

export function encodeGlobals(globals: readonly SnapshotGlobal[], limits: ImageLimits): Uint8Array {
  if (globals.length > limits.maxGlobals)
    throw badInput(`${globals.length} globals exceed the limit`);
  const b = new Builder().u32(globals.length);
  for (const g of globals) {
    const name = encodeName(g.name, 'global', limits.maxNameBytes);
    const code = (GlobalTypeCode as Record<string, number | undefined>)[g.type];
    if (code === undefined) throw badInput(`global ${g.name} has unknown type ${String(g.type)}`);
    b.u8(code).u8(0).u16(name.length).bytes(name);
    switch (g.type) {
      case 'i32':
        if (
          typeof g.value !== 'number' ||
          !Number.isInteger(g.value) ||
          g.value < -(2 ** 31) ||
          g.value >= 2 ** 32
        ) {
          throw badInput(`global ${g.name}: i32 value ${String(g.value)} is not a 32-bit integer`);
        }
        b.i32(g.value | 0);
        break;
      case 'i64':
        if (typeof g.value !== 'bigint' || g.value < -(1n << 63n) || g.value > U64_MAX) {
          throw badInput(`global ${g.name}: i64 value ${String(g.value)} is not a 64-bit bigint`);
        }
        b.i64(BigInt.asIntN(64, g.value));
        break;
      case 'f32':
      case 'f64':
        if (typeof g.value !== 'number') {
          throw badInput(`global ${g.name}: ${g.type} value ${String(g.value)} is not a number`);
        }
        if (g.type === 'f32') b.f32(g.value);
        else b.f64(g.value);
        break;
    }
  }
  return b.done();
}

export function decodeGlobals(
  payload: Uint8Array,
  base: number,
  limits: ImageLimits,
): SnapshotGlobal[] {
  const c = new Cursor(payload, SectionType.GLOBALS, base);
  const count = c.u32('global count');
  if (count > limits.maxGlobals)
    c.fail(`${count} globals exceed the limit of ${limits.maxGlobals}`);
  const out: SnapshotGlobal[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const code = c.u8('global type');
    const type = GLOBAL_TYPES[code] ?? c.fail(`global ${i} has unknown type code ${code}`);
    if (c.u8('reserved byte') !== 0) c.fail(`global ${i} has a non-zero reserved byte`);
    const len = c.u16('name length');
    if (len === 0 || len > limits.maxNameBytes)
      c.fail(`global ${i} name length ${len} is out of range`);
    const name = c.utf8(len, 'global name');
    if (seen.has(name)) c.fail(`global ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    let value: number | bigint;
    c.need(type === 'i32' || type === 'f32' ? 4 : 8, `value of global ${name}`);
    const view = new DataView(payload.buffer, payload.byteOffset + c.pos);
    switch (type) {
      case 'i32':
        value = view.getInt32(0, true);
        c.pos += 4;
        break;
      case 'i64':
        value = view.getBigInt64(0, true);
        c.pos += 8;
        break;
      case 'f32':
        value = view.getFloat32(0, true);
        c.pos += 4;
        break;
      case 'f64':
        value = view.getFloat64(0, true);
        c.pos += 8;
        break;
    }
    out.push({ name, type, value });
  }
  c.end();
  return out;
}

// ---- STACK ---------------------------------------------------------------------------------

export function encodeStack(stack: SnapshotStack): Uint8Array {
  if (!Number.isSafeInteger(stack.address) || stack.address < 0) {
    throw badInput(`stack address ${stack.address} is not a non-negative integer`);
  }
  return new Builder()
    .u64(BigInt(stack.address))
    .u64(BigInt(stack.bytes.length))
    .bytes(stack.bytes)
    .done();
}

export function decodeStack(payload: Uint8Array, base: number, memoryPages: number): SnapshotStack {
  const c = new Cursor(payload, SectionType.STACK, base);
  const address = c.u64('stack address');
  const length = c.u64('stack length');
  if (length !== BigInt(payload.length - c.pos)) {
    c.fail(`stack length ${length} does not match the ${payload.length - c.pos} bytes present`);
  }
  // The asyncify buffer lives inside linear memory: anything outside is a damaged image.
  if (address + length > BigInt(memoryPages) * 65536n) {
    c.fail(`stack [${address}, +${length}) lies outside the ${memoryPages}-page memory`);
  }
  return { address: Number(address), bytes: payload.slice(c.pos) };
}

// ---- COUNTERS ------------------------------------------------------------------------------

export function encodeCounters(
  counters: Readonly<Record<string, bigint>>,
  limits: ImageLimits,
): Uint8Array {
  const entries = Object.entries(counters);
  if (entries.length > limits.maxCounters)
    throw badInput(`${entries.length} counters exceed the limit`);
  const b = new Builder().u32(entries.length);
  for (const [key, value] of entries) {
    if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
      throw badInput(`counter ${key} = ${String(value)} is not an unsigned 64-bit bigint`);
    }
    const name = encodeName(key, 'counter', limits.maxNameBytes);
    b.u16(name.length).bytes(name).u64(value);
  }
  return b.done();
}

export function decodeCounters(
  payload: Uint8Array,
  base: number,
  limits: ImageLimits,
): Record<string, bigint> {
  const c = new Cursor(payload, SectionType.COUNTERS, base);
  const count = c.u32('counter count');
  if (count > limits.maxCounters)
    c.fail(`${count} counters exceed the limit of ${limits.maxCounters}`);
  const out: Record<string, bigint> = {};
  for (let i = 0; i < count; i++) {
    const len = c.u16('name length');
    if (len === 0 || len > limits.maxNameBytes)
      c.fail(`counter ${i} name length ${len} is out of range`);
    const name = c.utf8(len, 'counter name');
    if (Object.hasOwn(out, name)) c.fail(`counter ${JSON.stringify(name)} appears twice`);
    // defineProperty, not assignment: a counter named "__proto__" must stay a plain entry.
    Object.defineProperty(out, name, {
      value: c.u64(`counter ${name}`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  c.end();
  return out;
}

// ---- DEPUTY --------------------------------------------------------------------------------

export function encodeDeputy(deputy: unknown): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(deputy);
  } catch (cause) {
    throw new OsmoError(
      'E_SNAPSHOT_WRITE',
      'cannot write snapshot image: deputy state is not JSON',
      { cause },
    );
  }
  if (text === undefined) throw badInput('deputy state is not a JSON value');
  return encoder.encode(text);
}

export function decodeDeputy(payload: Uint8Array, base: number): unknown {
  const c = new Cursor(payload, SectionType.DEPUTY, base);
  const text = c.utf8(payload.length, 'deputy JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return c.fail('deputy state is not valid JSON');
  }
}

// ---- END -----------------------------------------------------------------------------------

export interface EndInfo {
  sections: number;
  chunks: number;
  nonZeroPages: number;
}

export function encodeEnd(info: EndInfo): Uint8Array {
  return new Builder().u32(info.sections).u32(info.chunks).u32(info.nonZeroPages).u32(0).done();
}

export function decodeEnd(payload: Uint8Array, base: number): EndInfo {
  const c = new Cursor(payload, SectionType.END, base);
  if (payload.length < END_BYTES) c.fail('END is too short');
  return {
    sections: c.u32('section count'),
    chunks: c.u32('chunk count'),
    nonZeroPages: c.u32('page count'),
  };
}
