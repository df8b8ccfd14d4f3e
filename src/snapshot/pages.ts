/**
 * Finds the runs of non-zero 64 KiB pages in a memory view without copying: a page is compared to
 * a zero page with Buffer.compare (a native memcmp, many GB/s), so untouched pages of a large
 * memory cost almost nothing and never reach the image.
 */
import { WASM_PAGE_BYTES } from './format.js';

const ZERO_PAGE = Buffer.alloc(WASM_PAGE_BYTES);

export interface PageRun {
  firstPage: number;
  pageCount: number;
}

/** Runs of consecutive non-zero pages, each at most `maxRunPages` long, in ascending order. */
export function* nonZeroRuns(memory: Uint8Array, maxRunPages: number): Generator<PageRun> {
  const buf = Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength);
  const pages = Math.floor(memory.byteLength / WASM_PAGE_BYTES);
  let runStart = -1;
  for (let p = 0; p < pages; p++) {
    const off = p * WASM_PAGE_BYTES;
    const zero = buf.compare(ZERO_PAGE, 0, WASM_PAGE_BYTES, off, off + WASM_PAGE_BYTES) === 0;
    if (zero) {
      if (runStart >= 0) yield { firstPage: runStart, pageCount: p - runStart };
      runStart = -1;
    } else if (runStart < 0) {
      runStart = p;
    } else if (p - runStart === maxRunPages) {
      yield { firstPage: runStart, pageCount: p - runStart };
      runStart = p;
    }
  }
  if (runStart >= 0) yield { firstPage: runStart, pageCount: pages - runStart };
}
