/** The 64-byte file header and the 24-byte section header: encode, and decode with checks. */
import { corrupt, unsupported } from './errors.js';
import {
  FORMAT_MAJOR,
  FORMAT_MINOR,
  HEADER_BYTES,
  HEADER_OFFSETS as H,
  KNOWN_REQUIRED_FEATURES,
  MAGIC,
  SECTION_HEADER_BYTES,
} from './format.js';
import { crc32 } from './crc32.js';
import { OsmoError } from '../core/errors.js';

const HASH_RE = /^[0-9a-f]{64}$/;

export interface FileHeader {
  major: number;
  minor: number;
  requiredFeatures: number;
  optionalFeatures: number;
  moduleHash: string;
}

export function encodeFileHeader(h: Omit<FileHeader, 'major' | 'minor'>): Uint8Array {
  if (!HASH_RE.test(h.moduleHash)) {
    throw new OsmoError(
      'E_SNAPSHOT_WRITE',
      `cannot write snapshot image: module hash ${JSON.stringify(h.moduleHash)} is not 64 lowercase hex digits`,
    );
  }
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  out.set(MAGIC, H.magic);
  v.setUint16(H.major, FORMAT_MAJOR, true);
  v.setUint16(H.minor, FORMAT_MINOR, true);
  v.setUint32(H.requiredFeatures, h.requiredFeatures >>> 0, true);
  v.setUint32(H.optionalFeatures, h.optionalFeatures >>> 0, true);
  out.set(Buffer.from(h.moduleHash, 'hex'), H.moduleHash);
  v.setUint32(H.crc, crc32(out.subarray(0, H.crc)), true);
  return out;
}

/** Checks in the order that gives the most useful error: magic, major version, CRC, features. */
export function decodeFileHeader(bytes: Uint8Array): FileHeader {
  if (bytes.length < HEADER_BYTES) throw corrupt('header', bytes.length, 'truncated file header');
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i])
      throw corrupt('header', i, 'bad magic: not an Osmosis snapshot image');
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const major = v.getUint16(H.major, true);
  const minor = v.getUint16(H.minor, true);
  if (major !== FORMAT_MAJOR) {
    // A damaged major byte reads as an unknown version too; the CRC tells the two apart.
    if (crc32(bytes.subarray(0, H.crc)) !== v.getUint32(H.crc, true)) {
      throw corrupt('header', H.crc, 'header checksum mismatch');
    }
    throw unsupported(
      `snapshot format version ${major}.${minor} (this reader knows ${FORMAT_MAJOR}.x)`,
      {
        major,
        minor,
      },
    );
  }
  if (crc32(bytes.subarray(0, H.crc)) !== v.getUint32(H.crc, true)) {
    throw corrupt('header', H.crc, 'header checksum mismatch');
  }
  const requiredFeatures = v.getUint32(H.requiredFeatures, true);
  const unknown = requiredFeatures & ~KNOWN_REQUIRED_FEATURES;
  if (unknown !== 0) {
    throw unsupported(`required feature bits 0x${(unknown >>> 0).toString(16)}`, {
      requiredFeatures,
    });
  }
  return {
    major,
    minor,
    requiredFeatures,
    optionalFeatures: v.getUint32(H.optionalFeatures, true),
    moduleHash: Buffer.from(bytes.subarray(H.moduleHash, H.moduleHash + 32)).toString('hex'),
  };
}

export interface SectionHeader {
  type: number;
  flags: number;
  length: number;
  crc: number;
}

/** Writes a section header into `out` at `at` (so a chunk header can share one small buffer). */
export function encodeSectionHeader(s: SectionHeader, out: Uint8Array, at = 0): void {
  const v = new DataView(out.buffer, out.byteOffset + at, SECTION_HEADER_BYTES);
  v.setUint16(0, s.type, true);
  v.setUint16(2, s.flags, true);
  v.setUint32(4, 0, true);
  v.setBigUint64(8, BigInt(s.length), true);
  v.setUint32(16, s.crc >>> 0, true);
  v.setUint32(20, crc32(out.subarray(at, at + 20)), true);
}

/** `offset` is the header's file position, used in error messages only. */
export function decodeSectionHeader(bytes: Uint8Array, offset: number): SectionHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, SECTION_HEADER_BYTES);
  if (crc32(bytes.subarray(0, 20)) !== v.getUint32(20, true)) {
    throw corrupt('section header', offset, 'section header checksum mismatch');
  }
  const length = v.getBigUint64(8, true);
  if (length > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw corrupt(v.getUint16(0, true), offset, `section length ${length} is impossible`);
  }
  return {
    type: v.getUint16(0, true),
    flags: v.getUint16(2, true),
    length: Number(length),
    crc: v.getUint32(16, true),
  };
}
