/**
 * writeImage: streams an image section by section. The memory is never copied on the raw path:
 * each run of non-zero pages goes to the sink as a view of the live memory, preceded by a 36-byte
 * section + chunk header, so a 4 GiB memory is never held twice.
 */
import type { Writable } from 'node:stream';
import { OsmoError, isOsmoError } from '../core/errors.js';
import { compressChunk } from './codec.js';
import type { Compression } from './codec.js';
import {
  CHUNK_HEADER_BYTES,
  DEFAULT_CHUNK_PAGES,
  DEFAULT_LIMITS,
  RequiredFeature,
  SECTION_FLAG_REQUIRED,
  SECTION_HEADER_BYTES,
  SectionType,
  WASM_PAGE_BYTES,
} from './format.js';
import { crc32 } from './crc32.js';
import { encodeFileHeader, encodeSectionHeader } from './header.js';
import { fdSink, writableSink } from './io.js';
import type { ImageSink } from './io.js';
import { nonZeroRuns } from './pages.js';
import {
  encodeCounters,
  encodeDeputy,
  encodeEnd,
  encodeGlobals,
  encodeMemoryInfo,
  encodeStack,
} from './sections.js';
import type { SnapshotImage } from './types.js';

export interface WriteImageOptions {
  /** 'none' (default: fastest) or 'deflate' (smaller, ~50–400 MB/s). */
  compression?: Compression;
  /** Pages per MEMORY_CHUNK, 1..1024; default 64 (4 MiB). */
  chunkPages?: number;
}

export interface WriteImageResult {
  bytesWritten: number;
  memoryPages: number;
  nonZeroPages: number;
  chunks: number;
  /** Bytes of memory data in the image after zero-skipping and compression. */
  storedMemoryBytes: number;
}

function toSink(sink: ImageSink | number | Writable): ImageSink {
  if (typeof sink === 'number') return fdSink(sink);
  if ('write' in sink && typeof (sink as Writable).on === 'function')
    return writableSink(sink as Writable);
  return sink as ImageSink;
}

export async function writeImage(
  sink: ImageSink | number | Writable,
  image: SnapshotImage,
  options: WriteImageOptions = {},
): Promise<WriteImageResult> {
  const compression = options.compression ?? 'none';
  const chunkPages = options.chunkPages ?? DEFAULT_CHUNK_PAGES;
  if (
    !Number.isInteger(chunkPages) ||
    chunkPages < 1 ||
    chunkPages > DEFAULT_LIMITS.maxChunkPages
  ) {
    throw new OsmoError(
      'E_SNAPSHOT_WRITE',
      `cannot write snapshot image: chunkPages ${chunkPages} is not in 1..${DEFAULT_LIMITS.maxChunkPages}`,
    );
  }
  const { memory } = image;
  if (memory.byteLength % WASM_PAGE_BYTES !== 0) {
    throw new OsmoError(
      'E_SNAPSHOT_WRITE',
      `cannot write snapshot image: memory length ${memory.byteLength} is not a whole number of 64 KiB pages`,
    );
  }
  const memoryPages = memory.byteLength / WASM_PAGE_BYTES;
  const out = toSink(sink);

  // Encode every small section before the first byte goes out: a bad global or a non-JSON deputy
  // state then fails without leaving half an image behind.
  const small: [number, Uint8Array][] = [
    [SectionType.MEMORY_INFO, encodeMemoryInfo(memoryPages)],
    [SectionType.GLOBALS, encodeGlobals(image.globals, DEFAULT_LIMITS)],
    [SectionType.COUNTERS, encodeCounters(image.counters, DEFAULT_LIMITS)],
    [SectionType.DEPUTY, encodeDeputy(image.deputy)],
  ];
  if (image.stack !== null) small.splice(2, 0, [SectionType.STACK, encodeStack(image.stack)]);
  const header = encodeFileHeader({
    moduleHash: image.moduleHash,
    requiredFeatures: compression === 'deflate' ? RequiredFeature.DEFLATE_CHUNKS : 0,
    optionalFeatures: 0,
  });

  let bytesWritten = 0;
  let sections = 0;
  const emit = async (buffers: Uint8Array[]): Promise<void> => {
    try {
      await out.write(buffers);
    } catch (cause) {
      if (isOsmoError(cause)) throw cause;
      const code = (cause as { code?: unknown }).code;
      throw new OsmoError(
        'E_SNAPSHOT_WRITE',
        `cannot write snapshot image at byte ${bytesWritten}: ${(cause as Error).message ?? String(cause)}`,
        {
          cause,
          details: { offset: bytesWritten, errno: typeof code === 'string' ? code : undefined },
        },
      );
    }
    for (const b of buffers) bytesWritten += b.length;
  };
  const emitSection = async (type: number, payload: Uint8Array): Promise<void> => {
    const head = new Uint8Array(SECTION_HEADER_BYTES);
    encodeSectionHeader(
      { type, flags: SECTION_FLAG_REQUIRED, length: payload.length, crc: crc32(payload) },
      head,
    );
    await emit([head, payload]);
    sections++;
  };

  await emit([header]);
  for (const [type, payload] of small) await emitSection(type, payload);

  let chunks = 0;
  let nonZeroPages = 0;
  let storedMemoryBytes = 0;
  for (const run of nonZeroRuns(memory, chunkPages)) {
    const start = run.firstPage * WASM_PAGE_BYTES;
    const raw = memory.subarray(start, start + run.pageCount * WASM_PAGE_BYTES);
    const { codec, data } = compressChunk(raw, compression);
    const head = new Uint8Array(SECTION_HEADER_BYTES + CHUNK_HEADER_BYTES);
    const ch = new DataView(head.buffer, SECTION_HEADER_BYTES, CHUNK_HEADER_BYTES);
    ch.setUint32(0, run.firstPage, true);
    ch.setUint32(4, run.pageCount, true);
    ch.setUint8(8, codec);
    const crc = crc32(data, crc32(head.subarray(SECTION_HEADER_BYTES)));
    encodeSectionHeader(
      {
        type: SectionType.MEMORY_CHUNK,
        flags: SECTION_FLAG_REQUIRED,
        length: CHUNK_HEADER_BYTES + data.length,
        crc,
      },
      head,
    );
    await emit([head, data]);
    sections++;
    chunks++;
    nonZeroPages += run.pageCount;
    storedMemoryBytes += data.length;
  }
  await emitSection(SectionType.END, encodeEnd({ sections, chunks, nonZeroPages }));
  return { bytesWritten, memoryPages, nonZeroPages, chunks, storedMemoryBytes };
}
