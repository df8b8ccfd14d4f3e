/**
 * How big the region an unwind writes into must be, from the live stack: its depth in frames
 * times the most one frame can take (the marker's `maxFrameBytes`, read from Asyncify's code at
 * instrumentation). Asyncify does not check the end of the region while it unwinds; the region
 * is the last thing in memory, so running past it traps and loses the process. With this size it
 * cannot run past it.
 */

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
  const saved = Error.stackTraceLimit;
  const prepare = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
  try {
    Error.stackTraceLimit = limit + 1;
    Error.prepareStackTrace = (_error, frames) => frames.length;
    const probe: { stack?: unknown } = {};
    Error.captureStackTrace(probe);
    return typeof probe.stack === 'number' ? probe.stack : Number.POSITIVE_INFINITY;
  } finally {
    Error.stackTraceLimit = saved;
    if (prepare === undefined) Reflect.deleteProperty(Error, 'prepareStackTrace');
    else Object.defineProperty(Error, 'prepareStackTrace', prepare);
  }
}

/**
 * Bytes the unwind of the current stack may write, rounded up to whole pages, never less than
 * STACK_REGION_BYTES. A module instrumented before `maxFrameBytes` existed gets the usual region
 * (its depth cannot be bounded; as before).
 */
export function unwindRegionBytes(maxFrameBytes: number | undefined, pageBytes = 65536): number {
  if (maxFrameBytes === undefined || maxFrameBytes <= 0) return STACK_REGION_BYTES;
  // One count of the whole stack: a limit would only save time on stacks that fit anyway.
  const bytes = countFrames(Number.POSITIVE_INFINITY) * maxFrameBytes;
  return Math.max(STACK_REGION_BYTES, Math.ceil(bytes / pageBytes) * pageBytes);
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
