/**
 * The rules an image must follow, section by section, shared by the positional reader (files,
 * reader.ts) and the streaming one (a move, stream-reader.ts): header and module, section count
 * and length limits, each section at most once, chunks in page order inside the memory, END
 * totals. Checksums are the callers' (one has the payload whole, the other piece by piece).
 */
import { OsmoError } from '../core/errors.js';
import { corrupt, unsupported } from './errors.js';
import {
  CHUNK_HEADER_BYTES,
  Codec,
  DEFAULT_LIMITS,
  HEADER_BYTES,
  RequiredFeature,
  SECTION_FLAG_REQUIRED,
  SectionType,
  WASM_PAGE_BYTES,
} from './format.js';
import type { CodecId, ImageLimits } from './format.js';
import { decodeFileHeader } from './header.js';
import type { FileHeader, SectionHeader } from './header.js';
import {
  decodeCounters,
  decodeDeputy,
  decodeEnd,
  decodeGlobals,
  decodeMemoryInfo,
  decodeStack,
} from './sections.js';
import type { SnapshotMeta } from './types.js';

export interface ValidateOptions {
  /** sha256 hex of the module the caller will instantiate; a different one is E_SNAPSHOT_MODULE. */
  expectedModuleHash?: string;
  limits?: Partial<ImageLimits>;
}

/** A memory chunk's header fields, checked. */
export interface ChunkInfo {
  firstPage: number;
  pageCount: number;
  codec: CodecId;
  /** Bytes stored after the chunk header. */
  storedLength: number;
}

export class ImageValidator {
  readonly limits: ImageLimits;
  readonly maxChunkPayload: number;
  readonly header: FileHeader;
  private readonly deflateAllowed: boolean;
  private memoryPages: number | undefined;
  private globals: SnapshotMeta['globals'] | undefined;
  private stackAt: { payload: Uint8Array; offset: number } | undefined;
  private counters: SnapshotMeta['counters'] | undefined;
  private deputy: { value: unknown } | undefined;
  private sections = 0;
  private chunks = 0;
  private nonZeroPages = 0;
  private nextFreePage = 0;

  constructor(headBytes: Uint8Array, options: ValidateOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.maxChunkPayload = CHUNK_HEADER_BYTES + this.limits.maxChunkPages * WASM_PAGE_BYTES;
    this.header = decodeFileHeader(headBytes);
    const expected = options.expectedModuleHash;
    if (expected !== undefined && expected.toLowerCase() !== this.header.moduleHash) {
      throw new OsmoError(
        'E_SNAPSHOT_MODULE',
        `snapshot image was taken from module ${this.header.moduleHash}, not ${expected}; restore it with the program that wrote it`,
        { details: { imageModule: this.header.moduleHash, expected } },
      );
    }
    this.deflateAllowed = (this.header.requiredFeatures & RequiredFeature.DEFLATE_CHUNKS) !== 0;
  }

  /** The memory size, once MEMORY_INFO has been read. */
  get pages(): number | undefined {
    return this.memoryPages;
  }

  /** A section header at `pos`: counted and its length checked against the limits. */
  section(sh: SectionHeader, pos: number): void {
    if (++this.sections > this.limits.maxSections)
      throw corrupt(sh.type, pos, `more than ${this.limits.maxSections} sections`);
    const limit =
      sh.type === SectionType.MEMORY_CHUNK ? this.maxChunkPayload : this.limits.maxSectionBytes;
    if (sh.length > limit)
      throw corrupt(sh.type, pos, `section length ${sh.length} exceeds the limit of ${limit}`);
  }

  /**
   * A whole section other than a memory chunk, its checksum verified. Returns true for END (the
   * caller checks nothing follows it).
   */
  small(sh: SectionHeader, payload: Uint8Array, payloadAt: number, pos: number): boolean {
    const once = (seen: unknown): void => {
      if (seen !== undefined) throw corrupt(sh.type, pos, 'section appears twice');
    };
    switch (sh.type) {
      case SectionType.MEMORY_INFO:
        once(this.memoryPages);
        this.memoryPages = decodeMemoryInfo(payload, payloadAt, this.limits);
        return false;
      case SectionType.GLOBALS:
        once(this.globals);
        this.globals = decodeGlobals(payload, payloadAt, this.limits);
        return false;
      case SectionType.STACK:
        once(this.stackAt);
        // Decoded after MEMORY_INFO is known (its bounds are checked against the memory size).
        this.stackAt = { payload: payload.slice(), offset: payloadAt };
        return false;
      case SectionType.COUNTERS:
        once(this.counters);
        this.counters = decodeCounters(payload, payloadAt, this.limits);
        return false;
      case SectionType.DEPUTY:
        once(this.deputy);
        this.deputy = { value: decodeDeputy(payload, payloadAt) };
        return false;
      case SectionType.END: {
        const end = decodeEnd(payload, payloadAt);
        if (
          end.sections !== this.sections - 1 ||
          end.chunks !== this.chunks ||
          end.nonZeroPages !== this.nonZeroPages
        ) {
          throw corrupt(
            sh.type,
            payloadAt,
            'END totals do not match the sections read (sections lost or added)',
          );
        }
        return true;
      }
      default:
        if ((sh.flags & SECTION_FLAG_REQUIRED) !== 0) {
          throw unsupported(`section type 0x${sh.type.toString(16)}`, {
            section: sh.type,
            offset: pos,
          });
        }
        // An unknown optional section: checksummed by the caller, otherwise skipped.
        return false;
    }
  }

  /** A memory chunk's 12-byte header (`head`), before its data. */
  chunk(sh: SectionHeader, head: Uint8Array, payloadAt: number, pos: number): ChunkInfo {
    if (this.memoryPages === undefined)
      throw corrupt(sh.type, pos, 'memory chunk before MEMORY_INFO');
    if (sh.length < CHUNK_HEADER_BYTES)
      throw corrupt(sh.type, payloadAt, 'chunk header is truncated');
    const v = new DataView(head.buffer, head.byteOffset, CHUNK_HEADER_BYTES);
    const firstPage = v.getUint32(0, true);
    const pageCount = v.getUint32(4, true);
    const codec = v.getUint8(8);
    const storedLength = sh.length - CHUNK_HEADER_BYTES;
    if (pageCount === 0 || pageCount > this.limits.maxChunkPages) {
      throw corrupt(sh.type, payloadAt + 4, `chunk of ${pageCount} pages is out of range`);
    }
    if (firstPage < this.nextFreePage || firstPage + pageCount > this.memoryPages) {
      throw corrupt(
        sh.type,
        payloadAt,
        `chunk pages [${firstPage}, +${pageCount}) overlap or lie outside the ${this.memoryPages}-page memory`,
      );
    }
    const rawLength = pageCount * WASM_PAGE_BYTES;
    if (codec === Codec.NONE) {
      if (storedLength !== rawLength)
        throw corrupt(
          sh.type,
          payloadAt,
          `raw chunk holds ${storedLength} bytes, not ${rawLength}`,
        );
    } else if (codec === Codec.DEFLATE_RAW) {
      if (!this.deflateAllowed)
        throw corrupt(
          sh.type,
          payloadAt + 8,
          'deflate chunk in an image without the deflate feature bit',
        );
    } else {
      throw unsupported(`memory chunk codec ${codec}`, { codec, offset: payloadAt + 8 });
    }
    this.chunks++;
    this.nonZeroPages += pageCount;
    this.nextFreePage = firstPage + pageCount;
    return { firstPage, pageCount, codec, storedLength };
  }

  /** Everything but memory, once END has been read. */
  meta(): SnapshotMeta {
    const missing = (name: string): never => {
      throw corrupt(name, HEADER_BYTES, `required section ${name} is missing`);
    };
    const pages = this.memoryPages ?? missing('MEMORY_INFO');
    const h = this.header;
    return {
      formatMajor: h.major,
      formatMinor: h.minor,
      requiredFeatures: h.requiredFeatures,
      optionalFeatures: h.optionalFeatures,
      moduleHash: h.moduleHash,
      memoryPages: pages,
      nonZeroPages: this.nonZeroPages,
      chunkCount: this.chunks,
      globals: this.globals ?? missing('GLOBALS'),
      stack:
        this.stackAt === undefined
          ? null
          : decodeStack(this.stackAt.payload, this.stackAt.offset, pages),
      counters: this.counters ?? missing('COUNTERS'),
      deputy: (this.deputy ?? missing('DEPUTY')).value,
    };
  }
}
