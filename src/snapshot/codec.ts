/**
 * Per-chunk compression. Version 1 stores chunks raw by default: zero-page skipping is what pays,
 * and no compressor measured here keeps up with 1 GB/s (docs/adr/0007-snapshot-format.md).
 * raw deflate (built into Node, so every reader has it) is offered for images kept long or sent
 * over slow links.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Codec } from './format.js';
import type { CodecId } from './format.js';

export type Compression = 'none' | 'deflate';

/** The stored form of a chunk: compressed only when that is at least 1/8 smaller. */
export function compressChunk(
  raw: Uint8Array,
  compression: Compression,
): { codec: CodecId; data: Uint8Array } {
  if (compression === 'deflate') {
    const packed = deflateRawSync(raw, { level: 1 });
    if (packed.length <= raw.length - (raw.length >>> 3))
      return { codec: Codec.DEFLATE_RAW, data: packed };
  }
  return { codec: Codec.NONE, data: raw };
}

/** Decompresses into `target` (exactly target.length bytes); returns false if the data is bad. */
export function decompressChunk(codec: CodecId, data: Uint8Array, target: Uint8Array): boolean {
  if (codec !== Codec.DEFLATE_RAW) return false;
  let out: Buffer;
  try {
    out = inflateRawSync(data, { maxOutputLength: target.length });
  } catch {
    return false;
  }
  if (out.length !== target.length) return false;
  target.set(out);
  return true;
}
