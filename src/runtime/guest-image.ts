/**
 * Writing the guest's image from its own thread (the live memory is read in place, chunk by
 * chunk: it is never copied whole) into a file or a stream, and restoring one into a fresh
 * instance from a file or from bytes as they arrive.
 */
import { OsmoError } from '../core/errors.js';
import { openImageFile, writeImage, writeImageFile } from '../snapshot/index.js';
import type { ImageSink, SnapshotImage, SnapshotMeta } from '../snapshot/index.js';
import { ImageStreamReader } from '../snapshot/stream-reader.js';
import type { GuestClocks } from './guest-clocks.js';
import type { ImageStreamMessage } from './guest-messages.js';
import type { GuestPreemption } from './preemption.js';
import { Clockid } from '../wasi/abi.js';

export interface GuestImageParts {
  memory: WebAssembly.Memory;
  preemption: GuestPreemption;
  clocks: GuestClocks;
  moduleHash: string;
  deputy: unknown;
  extraCounters?: Record<string, bigint>;
}

function snapshotOf(p: GuestImageParts): SnapshotImage {
  return {
    moduleHash: p.moduleHash,
    memory: new Uint8Array(p.memory.buffer),
    globals: p.preemption.globals(),
    stack: p.preemption.stack(),
    counters: {
      cpuTimeNs: p.clocks.cpuTimeNs(),
      monotonicLastNs: p.clocks.time(Clockid.MONOTONIC) ?? 0n,
      ticks: p.preemption.ticks,
      instrumenterVersion: BigInt(p.preemption.marker.version),
      ...p.extraCounters,
    },
    deputy: p.deputy,
  };
}

/** The image, written whole to `file` (atomically: see writeImageFile). */
export async function writeGuestImage(
  file: string,
  parts: GuestImageParts,
): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const result = await writeImageFile(file, snapshotOf(parts));
  return { bytes: result.bytesWritten, ms: performance.now() - started };
}

/** The image, written to `sink` as it is encoded (a move: no file); `flush` sends the rest. */
export async function streamGuestImage(
  sink: ImageSink & { flush(): void },
  parts: GuestImageParts,
): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const result = await writeImage(sink, snapshotOf(parts));
  sink.flush();
  return { bytes: result.bytesWritten, ms: performance.now() - started };
}

/** Copies an image's memory into a fresh instance's memory, then rewinds into its stack. */
export function restoreGuestImage(
  file: string,
  moduleHash: string,
  memory: WebAssembly.Memory,
  preemption: GuestPreemption,
): Record<string, bigint> {
  const image = openImageFile(file, { expectedModuleHash: moduleHash });
  try {
    const have = memory.buffer.byteLength / 65536;
    growTo(memory, image.meta.memoryPages);
    // The initial pages hold the data segments, which the image supersedes: zero the gaps.
    image.copyMemoryInto(new Uint8Array(memory.buffer), { zeroGapsBelowPage: have });
    return rewindInto(image.meta, preemption, file);
  } finally {
    image.close();
  }
}

/**
 * Loads an image that arrives in pieces (`next` yields the host thread's ImageStreamMessages)
 * straight into the instance's memory; rewinds only once it has arrived whole and checked.
 */
export async function restoreGuestImageStream(
  next: () => Promise<ImageStreamMessage>,
  moduleHash: string,
  memory: WebAssembly.Memory,
  preemption: GuestPreemption,
): Promise<Record<string, bigint>> {
  const reader = new ImageStreamReader({
    expectedModuleHash: moduleHash,
    zeroGapsBelowPage: memory.buffer.byteLength / 65536,
    memory: (pages) => {
      growTo(memory, pages);
      return new Uint8Array(memory.buffer);
    },
  });
  for (;;) {
    const m = await next();
    if (m.kind === 'image-piece') reader.push(m.data);
    else if (m.kind === 'image-end') break;
    else if (m.kind === 'image-abort')
      throw new OsmoError('E_LINK', `the image stopped coming: ${m.why}`);
  }
  return rewindInto(reader.end(), preemption, 'the image');
}

function growTo(memory: WebAssembly.Memory, pages: number): void {
  const have = memory.buffer.byteLength / 65536;
  if (pages > have) memory.grow(pages - have);
}

function rewindInto(
  meta: SnapshotMeta,
  preemption: GuestPreemption,
  what: string,
): Record<string, bigint> {
  if (meta.stack === null) throw new Error(`${what} holds no stack to continue from`);
  // The unwound stack is only meaningful to the code that unwound it: another instrumenter
  // version lays out the same program's frames differently.
  const took = meta.counters.instrumenterVersion;
  if (took !== BigInt(preemption.marker.version)) {
    throw new OsmoError(
      'E_SNAPSHOT_MODULE',
      `${what} was taken from the program as instrumenter version ${took ?? '2 or earlier'} made it; this osmo makes version ${preemption.marker.version}: continue it with the osmo release that took it`,
    );
  }
  preemption.rewindFrom(meta.globals, meta.stack);
  preemption.ticks = meta.counters.ticks ?? 0n;
  return meta.counters;
}
