/**
 * The constants of the snapshot image format, version 1 (docs/snapshot-format.md is the contract;
 * docs/adr/0007-snapshot-format.md says why it looks like this). Tables here are append-only:
 * a released section type, codec or feature bit never changes meaning.
 */

/** "OSMOSNAP" in ASCII: the first 8 bytes of every image. */
export const MAGIC = new Uint8Array([0x4f, 0x53, 0x4d, 0x4f, 0x53, 0x4e, 0x41, 0x50]);

/** A reader accepts any minor version of the majors it knows; a new major is refused. */
export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 0;

export const WASM_PAGE_BYTES = 65536;
export const WASM_PAGE_LOG2 = 16;

/** File header: magic, versions, feature bits, module hash, CRC of the 60 bytes before it. */
export const HEADER_BYTES = 64;
export const HEADER_OFFSETS = {
  magic: 0,
  major: 8,
  minor: 10,
  requiredFeatures: 12,
  optionalFeatures: 16,
  reserved0: 20,
  moduleHash: 24,
  reserved1: 56,
  crc: 60,
} as const;

/**
 * Section header: u16 type, u16 flags, u32 reserved, u64 payload length, u32 payload CRC,
 * u32 CRC of the 20 header bytes before it. The header has its own CRC so that a flipped length
 * is caught before the reader trusts it.
 */
export const SECTION_HEADER_BYTES = 24;

/** Section flag: a reader that does not know this section type must refuse the image. */
export const SECTION_FLAG_REQUIRED = 0x0001;

export const SectionType = {
  MEMORY_INFO: 0x0001,
  MEMORY_CHUNK: 0x0002,
  GLOBALS: 0x0003,
  STACK: 0x0004,
  COUNTERS: 0x0005,
  DEPUTY: 0x0006,
  END: 0xffff,
} as const;
export type SectionTypeId = (typeof SectionType)[keyof typeof SectionType];

export function sectionName(type: number): string {
  for (const [name, id] of Object.entries(SectionType)) if (id === type) return name;
  return `0x${type.toString(16).padStart(4, '0')}`;
}

/** MEMORY_CHUNK payload: u32 first page, u32 page count, u8 codec, 3 reserved bytes, data. */
export const CHUNK_HEADER_BYTES = 12;

/** Per-chunk codecs. A chunk whose compressed form is not smaller is stored with NONE. */
export const Codec = { NONE: 0, DEFLATE_RAW: 1 } as const;
export type CodecId = (typeof Codec)[keyof typeof Codec];

/**
 * Required feature bits (header offset 12): a reader that does not know a set bit refuses the
 * image with E_SNAPSHOT_VERSION. Optional feature bits (offset 16) are hints a reader may ignore;
 * none are defined in 1.0.
 */
export const RequiredFeature = { DEFLATE_CHUNKS: 0x0000_0001 } as const;
export const KNOWN_REQUIRED_FEATURES = RequiredFeature.DEFLATE_CHUNKS;

/** GLOBALS entry value types; the value is stored as its raw little-endian bits. */
export const GlobalTypeCode = { i32: 0, i64: 1, f32: 2, f64: 3 } as const;

/** MEMORY_INFO payload: u32 page count, u32 log2 page size. */
export const MEMORY_INFO_BYTES = 8;
/** END payload: u32 sections before END, u32 chunk count, u32 non-zero pages, u32 reserved. */
export const END_BYTES = 16;

/** Every length a reader decodes is checked against these before it allocates or loops. */
export interface ImageLimits {
  /** wasm32 memories hold at most 65536 pages (4 GiB). */
  maxMemoryPages: number;
  /** Largest MEMORY_CHUNK a reader accepts, in pages. */
  maxChunkPages: number;
  /** Largest payload of any section other than MEMORY_CHUNK, in bytes. */
  maxSectionBytes: number;
  maxSections: number;
  maxGlobals: number;
  maxCounters: number;
  maxNameBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ImageLimits> = {
  maxMemoryPages: 65536,
  maxChunkPages: 1024,
  maxSectionBytes: 256 * 1024 * 1024,
  maxSections: 65536 + 1024,
  maxGlobals: 65536,
  maxCounters: 4096,
  maxNameBytes: 1024,
};

/** Pages per MEMORY_CHUNK written by default (4 MiB): see the ADR's chunk-size measurement. */
export const DEFAULT_CHUNK_PAGES = 64;
