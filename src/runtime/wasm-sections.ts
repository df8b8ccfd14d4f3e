/**
 * Just enough of the WebAssembly binary format to read and rewrite a module's memory limits:
 * the engine then enforces `--max-memory` itself (memory.grow fails, malloc returns NULL).
 */
import { OsmoError } from '../core/errors.js';

export interface Section {
  id: number;
  /** Payload (without id and size). */
  payload: Uint8Array;
}

export interface MemoryLimits {
  minPages: number;
  maxPages: number | undefined;
  shared: boolean;
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
export const MEMORY_SECTION = 5;
export const PAGE_BYTES = 65536;

function bad(message: string): never {
  throw new OsmoError('E_BAD_WASM', message);
}

function readLeb(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length) bad('truncated module (a length field runs past the end)');
    const b = bytes[pos++] as number;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 35) bad('malformed module (an integer field is too long)');
  }
}

function writeLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

export function hasWasmMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

export function parseSections(bytes: Uint8Array): Section[] {
  if (!hasWasmMagic(bytes)) bad('not a WebAssembly module (it does not start with \\0asm)');
  if (bytes.length < 8) bad('truncated module (no version field)');
  const sections: Section[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++] as number;
    const [size, start] = readLeb(bytes, pos);
    if (start + size > bytes.length)
      bad(`truncated module (section ${id} needs ${size} bytes, ${bytes.length - start} left)`);
    sections.push({ id, payload: bytes.subarray(start, start + size) });
    pos = start + size;
  }
  return sections;
}

export function memoryLimits(sections: readonly Section[]): MemoryLimits | undefined {
  const section = sections.find((s) => s.id === MEMORY_SECTION);
  if (section === undefined) return undefined;
  const p = section.payload;
  const [count, pos] = readLeb(p, 0);
  if (count === 0) return undefined;
  const flags = p[pos];
  if (flags === undefined) bad('truncated memory section');
  const [minPages, next] = readLeb(p, pos + 1);
  const maxPages = flags & 1 ? readLeb(p, next)[0] : undefined;
  return { minPages, maxPages, shared: (flags & 2) !== 0 };
}

/** Returns the module with its (single) memory's maximum lowered to `maxPages`. */
export function withMemoryMax(
  bytes: Uint8Array,
  sections: readonly Section[],
  maxPages: number,
): Uint8Array {
  const limits = memoryLimits(sections);
  if (limits === undefined) return bytes;
  const newMax = limits.maxPages === undefined ? maxPages : Math.min(limits.maxPages, maxPages);
  const flags = 1 | (limits.shared ? 2 : 0);
  const payload = [...writeLeb(1), flags, ...writeLeb(limits.minPages), ...writeLeb(newMax)];
  const parts: number[][] = [[...bytes.subarray(0, 8)]];
  for (const s of sections) {
    const body = s.id === MEMORY_SECTION ? payload : [...s.payload];
    parts.push([s.id, ...writeLeb(body.length)]);
    parts.push(body);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
