/**
 * Writing the guest's image from its own thread (the live memory is read in place, chunk by
 * chunk: it is never copied whole) and restoring one into a fresh instance.
 */
import { openImageFile, writeImageFile } from '../snapshot/index.js';
import type { GuestClocks } from './guest-clocks.js';
import type { GuestPreemption } from './preemption.js';
import { Clockid } from '../wasi/abi.js';

export async function writeGuestImage(
  file: string,
  memory: WebAssembly.Memory,
  preemption: GuestPreemption,
  clocks: GuestClocks,
  moduleHash: string,
  deputy: unknown,
  extraCounters: Record<string, bigint> = {},
): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const result = await writeImageFile(file, {
    moduleHash,
    memory: new Uint8Array(memory.buffer),
    globals: preemption.globals(),
    stack: preemption.stack(),
    counters: {
      cpuTimeNs: clocks.cpuTimeNs(),
      monotonicLastNs: clocks.time(Clockid.MONOTONIC) ?? 0n,
      ticks: preemption.ticks,
      ...extraCounters,
    },
    deputy,
  });
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
    const { meta } = image;
    if (meta.stack === null) throw new Error(`${file} holds no stack to continue from`);
    const have = memory.buffer.byteLength / 65536;
    if (meta.memoryPages > have) memory.grow(meta.memoryPages - have);
    // The initial pages hold the data segments, which the image supersedes: zero the gaps.
    image.copyMemoryInto(new Uint8Array(memory.buffer), { zeroGapsBelowPage: have });
    preemption.rewindFrom(meta.globals, meta.stack);
    preemption.ticks = meta.counters.ticks ?? 0n;
    return meta.counters;
  } finally {
    image.close();
  }
}
