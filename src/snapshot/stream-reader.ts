/**
 * Restoring an image as its bytes arrive (a move: no file on either side). The same rules as
 * the file reader (image-validator.ts), checked in one pass: memory pages are copied straight
 * into the new instance's memory as they come and each chunk's checksum is verified at its end.
 * Nothing here runs the program: the caller resumes it only after {@link ImageStreamReader.end}
 * returned, so an image cut short or damaged anywhere leaves a fresh instance to throw away.
 */
import { decompressChunk } from './codec.js';
import { crc32 } from './crc32.js';
import { corrupt } from './errors.js';
import {
  CHUNK_HEADER_BYTES,
  Codec,
  HEADER_BYTES,
  SECTION_HEADER_BYTES,
  SectionType,
  WASM_PAGE_BYTES,
} from './format.js';
import { decodeSectionHeader } from './header.js';
import type { SectionHeader } from './header.js';
import { ImageValidator } from './image-validator.js';
import type { ChunkInfo, ValidateOptions } from './image-validator.js';
import type { SnapshotMeta } from './types.js';

export interface StreamRestoreOptions extends ValidateOptions {
  /**
   * Called once the memory size is known (MEMORY_INFO): returns a view of the destination memory
   * of at least that many pages (grow it there). Called again for each chunk, since growing a
   * WebAssembly memory detaches its old buffer.
   */
  memory: (pages: number) => Uint8Array;
  /** Zero the pages below this one that the image does not list (see CopyMemoryOptions). */
  zeroGapsBelowPage?: number;
}

type Want = 'header' | 'section' | 'small' | 'chunk-head' | 'chunk-data' | 'done';

export class ImageStreamReader {
  private rules: ImageValidator | undefined;
  private want: Want = 'header';
  /** Bytes of the stream consumed so far (offsets in error messages). */
  private offset = 0;
  /** Where the current piece (header, section head, payload) is assembled. */
  private buf = new Uint8Array(HEADER_BYTES);
  private filled = 0;
  private sh: SectionHeader | undefined;
  private sectionAt = 0;
  private chunk: (ChunkInfo & { crc: number; dest: number; left: number }) | undefined;
  /** Bytes of memory below which every page is written or zeroed. */
  private zeroedTo = 0;
  private meta: SnapshotMeta | undefined;

  constructor(private readonly options: StreamRestoreOptions) {}

  /** The next bytes of the image, in order, any size. Throws on the first fault found. */
  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.want === 'done')
        throw corrupt(SectionType.END, this.offset, `${bytes.length - at} bytes after END`);
      if (this.want === 'chunk-data') {
        at += this.chunkData(bytes.subarray(at));
        continue;
      }
      const n = Math.min(bytes.length - at, this.buf.length - this.filled);
      this.buf.set(bytes.subarray(at, at + n), this.filled);
      this.filled += n;
      this.offset += n;
      at += n;
      if (this.filled === this.buf.length) this.complete();
    }
  }

  /** The stream ended: the image's metadata if it was whole, else E_SNAPSHOT_CORRUPT. */
  end(): SnapshotMeta {
    if (this.meta === undefined)
      throw corrupt(this.sh?.type ?? 'header', this.offset, 'truncated image: no END section');
    return this.meta;
  }

  private expect(want: Want, bytes: number): void {
    this.want = want;
    if (this.buf.length < bytes || want === 'small') this.buf = new Uint8Array(bytes);
    else this.buf = this.buf.subarray(0, bytes);
    this.filled = 0;
  }

  /** A header, section header or small payload is whole in `buf`. */
  private complete(): void {
    switch (this.want) {
      case 'header':
        this.rules = new ImageValidator(this.buf, this.options);
        this.expect('section', SECTION_HEADER_BYTES);
        return;
      case 'section': {
        const at = this.offset - SECTION_HEADER_BYTES;
        const sh = decodeSectionHeader(this.buf, at);
        this.rules!.section(sh, at);
        this.sh = sh;
        this.sectionAt = at;
        if (sh.type === SectionType.MEMORY_CHUNK && sh.length >= CHUNK_HEADER_BYTES)
          this.expect('chunk-head', CHUNK_HEADER_BYTES);
        else this.expect('small', sh.length);
        if (sh.length === 0) this.complete();
        return;
      }
      case 'small': {
        const sh = this.sh!;
        const payloadAt = this.sectionAt + SECTION_HEADER_BYTES;
        if (crc32(this.buf) !== sh.crc) throw corrupt(sh.type, payloadAt, 'checksum mismatch');
        if (sh.type === SectionType.MEMORY_CHUNK) {
          this.rules!.chunk(sh, this.buf, payloadAt, this.sectionAt); // throws: too short
        } else if (this.rules!.small(sh, this.buf, payloadAt, this.sectionAt)) {
          this.zeroGapsTo(Infinity);
          this.meta = this.rules!.meta();
          this.want = 'done';
          return;
        } else if (sh.type === SectionType.MEMORY_INFO) {
          this.options.memory(this.rules!.pages!);
        }
        this.expect('section', SECTION_HEADER_BYTES);
        return;
      }
      case 'chunk-head': {
        const sh = this.sh!;
        const payloadAt = this.sectionAt + SECTION_HEADER_BYTES;
        const c = this.rules!.chunk(sh, this.buf, payloadAt, this.sectionAt);
        const dest = c.firstPage * WASM_PAGE_BYTES;
        this.zeroGapsTo(dest);
        this.chunk = { ...c, crc: crc32(this.buf), dest, left: c.storedLength };
        this.zeroedTo = dest + c.pageCount * WASM_PAGE_BYTES;
        if (c.codec === Codec.NONE) {
          this.want = 'chunk-data';
        } else {
          // Compressed: the stored bytes are gathered, then inflated into memory at their end.
          this.buf = new Uint8Array(c.storedLength);
          this.want = 'chunk-data';
        }
        return;
      }
      default:
        return;
    }
  }

  /** Bytes of a chunk's data: raw ones go straight into memory. Returns how many it took. */
  private chunkData(bytes: Uint8Array): number {
    const c = this.chunk!;
    const n = Math.min(bytes.length, c.left);
    const piece = bytes.subarray(0, n);
    c.crc = crc32(piece, c.crc);
    if (c.codec === Codec.NONE) {
      const at = c.dest + (c.storedLength - c.left);
      this.options.memory(this.rules!.pages!).set(piece, at);
    } else {
      this.buf.set(piece, c.storedLength - c.left);
    }
    c.left -= n;
    this.offset += n;
    if (c.left === 0) this.chunkDone(c);
    return n;
  }

  private chunkDone(c: NonNullable<ImageStreamReader['chunk']>): void {
    const payloadAt = this.sectionAt + SECTION_HEADER_BYTES;
    if (c.crc !== this.sh!.crc)
      throw corrupt(SectionType.MEMORY_CHUNK, payloadAt, 'checksum mismatch');
    if (c.codec !== Codec.NONE) {
      const memory = this.options.memory(this.rules!.pages!);
      const dest = memory.subarray(c.dest, c.dest + c.pageCount * WASM_PAGE_BYTES);
      if (!decompressChunk(c.codec, this.buf, dest))
        throw corrupt(
          SectionType.MEMORY_CHUNK,
          payloadAt + CHUNK_HEADER_BYTES,
          'compressed chunk does not inflate to its page count',
        );
    }
    this.chunk = undefined;
    this.expect('section', SECTION_HEADER_BYTES);
  }

  /** Pages a fresh instance may have written (data segments) that the image leaves zero. */
  private zeroGapsTo(end: number): void {
    const pages = this.rules?.pages;
    if (pages === undefined) return;
    const below = Math.min(this.options.zeroGapsBelowPage ?? 0, pages) * WASM_PAGE_BYTES;
    const to = Math.min(end, below);
    if (to > this.zeroedTo) this.options.memory(pages).fill(0, this.zeroedTo, to);
    if (end > this.zeroedTo) this.zeroedTo = Math.min(end, pages * WASM_PAGE_BYTES);
  }
}
