/**
 * How big the region an unwind writes into must be, from the live stack: the sum over its frames
 * of what each can take (the marker's `frameBytes` by function name, `maxFrameBytes` for any
 * other frame; read from Asyncify's code at instrumentation). Asyncify does not check the end of
 * the region while it unwinds; the region is the last thing in memory, so running past it traps
 * and loses the process. With this size it cannot run past it.
 */
import { OsmoError } from '../core/errors.js';
import { ASYNCIFY_HEADER_BYTES } from '../instrument/contract.js';
import type { InstrumentMarker } from '../instrument/contract.js';

const PAGE_BYTES = 65536;

/** The usual region: enough for any stack up to this size over `maxFrameBytes` frames. */
export const STACK_REGION_BYTES = 8 << 20;

/**
 * Frames on the current stack (JS and wasm, those V8 inlined included; those that save nothing
 * are counted too, which only makes the bound larger), counting at most `limit + 1`: `> limit`
 * means "more than limit". V8's stack-trace machinery counts without formatting anything, but it
 * builds an object per frame: 0.4–3 µs a frame here (1000 frames 0.5 ms, 50 000 frames
 * 20–100 ms, 400 000 frames ~1.3 s), so a deep program's suspension waits that long more.
 */
export function countFrames(limit: number): number {
  return overStack(limit, (frames) => frames.length);
}

/**
 * What an unwind of the current stack may write: each wasm frame whose function `smaller` names
 * at that bound, every other frame (other functions, JS frames) at `max`. Costs what counting
 * costs (a lookup by name per frame on top).
 */
export function stackUnwindBytes(max: number, smaller: ReadonlyMap<string, number>): number {
  return overStack(Number.POSITIVE_INFINITY, (frames) => {
    let bytes = 0;
    for (const frame of frames) {
      const name = frame.getFunctionName();
      const bound =
        name !== null && frame.getFileName()?.startsWith('wasm://') === true
          ? smaller.get(name)
          : undefined;
      bytes += bound ?? max;
    }
    return bytes;
  });
}

/** `measure` of the current stack's frames (at most `limit + 1` of them); +∞ if V8 gave none. */
function overStack(limit: number, measure: (frames: NodeJS.CallSite[]) => number): number {
  const saved = Error.stackTraceLimit;
  const prepare = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
  try {
    Error.stackTraceLimit = limit + 1;
    Error.prepareStackTrace = (_error, frames) => measure(frames);
    const probe: { stack?: unknown } = {};
    Error.captureStackTrace(probe);
    return typeof probe.stack === 'number' ? probe.stack : Number.POSITIVE_INFINITY;
  } finally {
    Error.stackTraceLimit = saved;
    if (prepare === undefined) Reflect.deleteProperty(Error, 'prepareStackTrace');
    else Object.defineProperty(Error, 'prepareStackTrace', prepare);
  }
}

/** A marker's frame sizes, ready for {@link unwindRegionBytes} (made once per instance). */
export interface FrameBounds {
  max: number;
  smaller: ReadonlyMap<string, number>;
}

/**
 * The marker's frame sizes; undefined for a module instrumented before `maxFrameBytes` existed
 * (its depth cannot be bounded). One from before `frameBytes` counts every frame at the largest.
 */
export function frameBoundsOf(
  marker: Pick<InstrumentMarker, 'maxFrameBytes' | 'frameBytes'>,
): FrameBounds | undefined {
  const max = marker.maxFrameBytes;
  if (max === undefined || max <= 0) return undefined;
  return { max, smaller: new Map(Object.entries(marker.frameBytes ?? {})) };
}

/**
 * Bytes the unwind of the current stack may write, rounded up to whole pages, never less than
 * STACK_REGION_BYTES; the usual region when the frames cannot be bounded (as before bounds).
 */
export function unwindRegionBytes(bounds: FrameBounds | undefined): number {
  if (bounds === undefined) return STACK_REGION_BYTES;
  // One pass over the whole stack: a limit would only save time on stacks that fit anyway.
  const bytes = stackUnwindBytes(bounds.max, bounds.smaller);
  return Math.max(STACK_REGION_BYTES, Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES);
}

/**
 * Whether the current stack has at most `maxFrames` frames and unwinds into a usual region (a
 * re-entry never grows a bigger one). `maxFrames` keeps the count cheap.
 */
export function fitsUsualRegion(maxFrameBytes: number | undefined, maxFrames: number): boolean {
  if (maxFrameBytes === undefined || maxFrameBytes <= 0) return false;
  const limit = Math.min(maxFrames, Math.floor(STACK_REGION_BYTES / maxFrameBytes));
  return countFrames(limit) <= limit;
}

const ZERO = new Uint8Array(1 << 20);

/** Whether every byte of `bytes` is zero (memcmp against zeros, a MiB at a time). */
function allZero(bytes: Uint8Array): boolean {
  for (let off = 0; off < bytes.length; off += ZERO.length) {
    const part = bytes.subarray(off, Math.min(bytes.length, off + ZERO.length));
    if (Buffer.compare(part, ZERO.subarray(0, part.length)) !== 0) return false;
  }
  return true;
}

/**
 * The regions a program's unwinds write into. The first is grown at the end of memory when it is
 * needed (never earlier: wasi-libc's malloc claims [heap_base, memory.size) when it first runs
 * and would absorb a region grown before — research note, pitfalls). Once a rewind has consumed
 * a region's data, the data is zeroed and the region kept as the spare: the next unwind reuses it
 * if it is large enough and still all zero. "All zero" is what makes reuse safe even if malloc
 * absorbed the region meanwhile: whatever the program keeps there is then zeros, which the unwind
 * overwrites only until the rewind is over and the zeroing puts back. Without reuse every
 * checkpoint, move and re-entry grew the memory by 8 MiB for good (a checkpoint a minute reached
 * wasm32's 4 GiB in about eight hours, and then no checkpoint could be taken).
 */
export class UnwindRegions {
  private spare: { address: number; capacity: number } | undefined;
  /** The region of the unwind, image or rewind in progress, and the bytes its data spans. */
  private current: { address: number; capacity: number; used: number } | undefined;

  /**
   * A region of at least `bytes` after the header, header written for an unwind; its address,
   * or undefined if memory cannot grow by that much.
   */
  take(memory: WebAssembly.Memory, bytes: number): number | undefined {
    let region = this.spare;
    if (
      region === undefined ||
      region.capacity < bytes ||
      !allZero(new Uint8Array(memory.buffer, region.address, ASYNCIFY_HEADER_BYTES + bytes))
    ) {
      let first: number;
      try {
        first = memory.grow(Math.ceil((bytes + ASYNCIFY_HEADER_BYTES) / PAGE_BYTES));
      } catch {
        return undefined;
      }
      region = { address: first * PAGE_BYTES, capacity: bytes };
    }
    this.spare = undefined;
    this.current = { ...region, used: 0 };
    const v = new DataView(memory.buffer);
    v.setUint32(region.address, region.address + ASYNCIFY_HEADER_BYTES, true);
    v.setUint32(region.address + 4, region.address + ASYNCIFY_HEADER_BYTES + region.capacity, true);
    return region.address;
  }

  /** The unwind into the current region is over: how far its data goes (header included). */
  unwound(memory: WebAssembly.Memory): { address: number; used: number } {
    const c = this.current!;
    c.used = new DataView(memory.buffer).getUint32(c.address, true) - c.address;
    return this.data();
  }

  /** The current region and how far its data goes (once unwound, or restored from an image). */
  data(): { address: number; used: number } {
    const c = this.current;
    if (c === undefined) throw new OsmoError('E_INTERNAL', 'no unwind or rewind in progress');
    return { address: c.address, used: c.used };
  }

  /** An image's stack was put back at `address` (header included) for a rewind. */
  restoring(address: number, stack: Uint8Array): void {
    const end = new DataView(stack.buffer, stack.byteOffset, stack.byteLength).getUint32(4, true);
    this.current = { address, capacity: end - address - ASYNCIFY_HEADER_BYTES, used: stack.length };
  }

  /** The rewind is over: the region's data is spent; zeroed, the region is the spare. */
  rewound(memory: WebAssembly.Memory): void {
    const c = this.current;
    if (c === undefined) return;
    new Uint8Array(memory.buffer, c.address, c.used).fill(0);
    this.current = undefined;
    this.spare = { address: c.address, capacity: c.capacity };
  }
}
