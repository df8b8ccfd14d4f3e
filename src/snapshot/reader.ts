/**
 * readImage: validates a whole image — header, every section header and payload checksum, every
 * length against the limits, section order and the END totals — before it returns anything, so a
 * caller never starts restoring from a damaged file. Memory is then read a second time, chunk by
 * chunk, straight into the destination (copyMemoryInto) or through a reused buffer (chunks), and
 * each chunk's checksum is checked again in case the file changed between the two passes.
 */
import { OsmoError } from '../core/errors.js';
import { decompressChunk } from './codec.js';
import { corrupt } from './errors.js';
import {
  CHUNK_HEADER_BYTES,
  Codec,
  HEADER_BYTES,
  SECTION_HEADER_BYTES,
  SectionType,
  WASM_PAGE_BYTES,
} from './format.js';
import type { CodecId } from './format.js';
import { crc32 } from './crc32.js';
import { decodeSectionHeader } from './header.js';
import { ImageValidator } from './image-validator.js';
import type { ValidateOptions } from './image-validator.js';
import { bytesSource } from './io.js';
import type { ImageSource } from './io.js';
import type { SnapshotMeta } from './types.js';

export type ReadImageOptions = ValidateOptions;

/** A run of pages; `data` is a reused buffer, valid until the iterator advances. */
export interface MemoryChunk {
  firstPage: number;
  pageCount: number;
  data: Uint8Array;
}

export interface CopyMemoryOptions {
  /**
   * Zero the pages below this page number that the image does not list (they were zero when the
   * image was taken). Use it for pages a fresh instance may have written (data segments); pages
   * above it are left alone, so a freshly grown memory is not touched where it is already zero.
   */
  zeroGapsBelowPage?: number;
}

export interface SnapshotReader {
  readonly meta: SnapshotMeta;
  chunks(): Generator<MemoryChunk>;
  /** Copies every stored page into `target` (a view of at least meta.memoryPages pages). */
  copyMemoryInto(target: Uint8Array, options?: CopyMemoryOptions): void;
}

interface ChunkIndex {
  /** File offset of the chunk payload (its 12-byte chunk header). */
  offset: number;
  storedLength: number;
  firstPage: number;
  pageCount: number;
  codec: CodecId;
  crc: number;
}

/** Reads exactly target.length bytes or reports truncation in `section` at `position`. */
function readFully(
  source: ImageSource,
  target: Uint8Array,
  position: number,
  section: number | string,
): void {
  let done = 0;
  while (done < target.length) {
    let n: number;
    try {
      n = source.read(done === 0 ? target : target.subarray(done), position + done);
    } catch (cause) {
      throw new OsmoError(
        'E_IO',
        `cannot read snapshot image at byte ${position + done}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    if (n <= 0) throw corrupt(section, position + done, 'truncated image');
    done += n;
  }
}

export function readImage(
  source: ImageSource | Uint8Array,
  options: ReadImageOptions = {},
): SnapshotReader {
  const src = source instanceof Uint8Array ? bytesSource(source) : source;
  const headBytes = new Uint8Array(HEADER_BYTES);
  readFully(src, headBytes, 0, 'header');
  const rules = new ImageValidator(headBytes, options);
  const index: ChunkIndex[] = [];
  // One scratch buffer for chunk payloads (their size is bounded by maxChunkPages), grown on need.
  let scratch = new Uint8Array(0);
  const sectionHead = new Uint8Array(SECTION_HEADER_BYTES);

  let pos = HEADER_BYTES;
  for (let ended = false; !ended;) {
    if (pos === src.size) throw corrupt('END', pos, 'truncated image: no END section');
    readFully(src, sectionHead, pos, 'section header');
    const sh = decodeSectionHeader(sectionHead, pos);
    const payloadAt = pos + SECTION_HEADER_BYTES;
    rules.section(sh, pos);
    if (payloadAt + sh.length > src.size) throw corrupt(sh.type, src.size, 'truncated image');

    if (scratch.length < sh.length)
      scratch = new Uint8Array(
        Math.max(sh.length, Math.min(rules.maxChunkPayload, scratch.length * 2)),
      );
    const payload = scratch.subarray(0, sh.length);
    readFully(src, payload, payloadAt, sh.type);
    if (crc32(payload) !== sh.crc) throw corrupt(sh.type, payloadAt, 'checksum mismatch');

    if (sh.type === SectionType.MEMORY_CHUNK) {
      const c = rules.chunk(sh, payload, payloadAt, pos);
      // Inflate now so that a bad stream is refused before restore starts (deflate is opt-in
      // and slow anyway); the output lands in a throwaway buffer.
      if (
        c.codec !== Codec.NONE &&
        !decompressChunk(
          c.codec,
          payload.subarray(CHUNK_HEADER_BYTES),
          new Uint8Array(c.pageCount * WASM_PAGE_BYTES),
        )
      ) {
        throw corrupt(
          sh.type,
          payloadAt + CHUNK_HEADER_BYTES,
          'compressed chunk does not inflate to its page count',
        );
      }
      index.push({ offset: payloadAt, ...c, crc: sh.crc });
    } else if (rules.small(sh, payload, payloadAt, pos)) {
      if (payloadAt + sh.length !== src.size) {
        throw corrupt(
          sh.type,
          payloadAt + sh.length,
          `${src.size - payloadAt - sh.length} bytes after END`,
        );
      }
      ended = true;
    }
    pos = payloadAt + sh.length;
  }
  const meta = rules.meta();
  const pages = meta.memoryPages;

  const checkAgain = (c: ChunkIndex, headerBytes: Uint8Array, stored: Uint8Array): void => {
    if (crc32(stored, crc32(headerBytes)) !== c.crc) {
      throw corrupt(
        SectionType.MEMORY_CHUNK,
        c.offset,
        'checksum mismatch on second read (the file changed)',
      );
    }
  };

  return {
    meta,
    *chunks() {
      const head = new Uint8Array(CHUNK_HEADER_BYTES);
      let buf = new Uint8Array(0);
      for (const c of index) {
        readFully(src, head, c.offset, SectionType.MEMORY_CHUNK);
        const rawLength = c.pageCount * WASM_PAGE_BYTES;
        if (buf.length < rawLength) buf = new Uint8Array(rawLength);
        const data = buf.subarray(0, rawLength);
        if (c.codec === Codec.NONE) {
          readFully(src, data, c.offset + CHUNK_HEADER_BYTES, SectionType.MEMORY_CHUNK);
          checkAgain(c, head, data);
        } else {
          const stored = new Uint8Array(c.storedLength);
          readFully(src, stored, c.offset + CHUNK_HEADER_BYTES, SectionType.MEMORY_CHUNK);
          checkAgain(c, head, stored);
          if (!decompressChunk(c.codec, stored, data))
            throw corrupt(SectionType.MEMORY_CHUNK, c.offset, 'chunk does not inflate');
        }
        yield { firstPage: c.firstPage, pageCount: c.pageCount, data };
      }
    },
    copyMemoryInto(target, copyOptions = {}) {
      if (target.byteLength < pages * WASM_PAGE_BYTES) {
        throw new OsmoError(
          'E_MEMORY_LIMIT',
          `restore target holds ${target.byteLength} bytes; grow it to ${pages} pages (${pages * WASM_PAGE_BYTES} bytes) first`,
        );
      }
      const zeroBelow = Math.min(copyOptions.zeroGapsBelowPage ?? 0, pages) * WASM_PAGE_BYTES;
      const head = new Uint8Array(CHUNK_HEADER_BYTES);
      let filled = 0;
      for (const c of index) {
        const start = c.firstPage * WASM_PAGE_BYTES;
        if (start > filled && filled < zeroBelow)
          target.fill(0, filled, Math.min(start, zeroBelow));
        const dest = target.subarray(start, start + c.pageCount * WASM_PAGE_BYTES);
        readFully(src, head, c.offset, SectionType.MEMORY_CHUNK);
        if (c.codec === Codec.NONE) {
          // Straight from the file into the destination memory: no intermediate buffer.
          readFully(src, dest, c.offset + CHUNK_HEADER_BYTES, SectionType.MEMORY_CHUNK);
          checkAgain(c, head, dest);
        } else {
          const stored = new Uint8Array(c.storedLength);
          readFully(src, stored, c.offset + CHUNK_HEADER_BYTES, SectionType.MEMORY_CHUNK);
          checkAgain(c, head, stored);
          if (!decompressChunk(c.codec, stored, dest))
            throw corrupt(SectionType.MEMORY_CHUNK, c.offset, 'chunk does not inflate');
        }
        filled = start + dest.length;
      }
      if (filled < zeroBelow) target.fill(0, filled, zeroBelow);
    },
  };
}
