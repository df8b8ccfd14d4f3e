/** Sample images for the snapshot tests: seeded, so a failing run can be replayed. */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { SnapshotImage, SnapshotMeta } from '../../../src/snapshot/index.js';

export const PAGE = 65536;
/** The repository root, from dist/test/unit/snapshot/. */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** xorshift32: a tiny deterministic generator (the tests print the seed when they fail). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function fillRandom(target: Uint8Array, seed: number): void {
  const next = rng(seed);
  const words = new Uint32Array(target.buffer, target.byteOffset, target.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = next();
}

/**
 * A memory of `pages` pages where `filled(page)` says which ones hold data: odd-numbered filled
 * pages are random (incompressible), even-numbered ones a repeating pattern (compressible).
 */
export function makeMemory(pages: number, filled: (page: number) => boolean, seed = 1): Uint8Array {
  const mem = new Uint8Array(pages * PAGE);
  for (let p = 0; p < pages; p++) {
    if (!filled(p)) continue;
    const page = mem.subarray(p * PAGE, (p + 1) * PAGE);
    if (p % 2 === 1) fillRandom(page, seed + p);
    else for (let i = 0; i < PAGE; i++) page[i] = (i * 7 + p) & 0xff;
  }
  return mem;
}

export function sampleImage(memory: Uint8Array, seed = 1): SnapshotImage {
  const stackBytes = new Uint8Array(300);
  fillRandom(stackBytes, seed + 1000);
  return {
    moduleHash: createHash('sha256').update(`module-${seed}`).digest('hex'),
    memory,
    globals: [
      { name: '__stack_pointer', type: 'i32', value: 65536 - 16 },
      { name: 'neg', type: 'i32', value: -2147483648 },
      { name: 'big', type: 'i64', value: -9223372036854775808n },
      { name: 'u64max', type: 'i64', value: -1n },
      { name: 'f', type: 'f32', value: 1.5 },
      { name: 'd', type: 'f64', value: -0 },
      { name: 'nan', type: 'f64', value: Number.NaN },
      { name: 'ünïcode', type: 'f64', value: Math.PI },
    ],
    stack: memory.length >= PAGE ? { address: memory.length - 512, bytes: stackBytes } : null,
    counters: { cpuTimeNs: 123_456_789_012n, monotonicLastNs: (1n << 64n) - 1n, ticks: 42n },
    deputy: {
      program: '/bin/prog.wasm',
      args: ['prog', 'a b'],
      env: ['HOME=/home/u'],
      cwd: '/home/u',
      fds: [{ fd: 3, kind: 'file', path: 'data.txt', offset: '18446744073709551615', fdflags: 0 }],
    },
  };
}

/** What a decoded image must equal, ignoring the memory (compared separately). */
export function expectedMeta(image: SnapshotImage): Partial<SnapshotMeta> {
  return {
    moduleHash: image.moduleHash,
    memoryPages: image.memory.length / PAGE,
    globals: image.globals.map((g) => ({ ...g })),
    stack: image.stack === null ? null : { address: image.stack.address, bytes: image.stack.bytes },
    counters: { ...image.counters },
    deputy: image.deputy,
  };
}

/** Collects a Writable-free sink into one buffer. */
export function memorySink(): { write(b: readonly Uint8Array[]): void; bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    write(buffers) {
      for (const b of buffers) parts.push(b.slice());
    },
    bytes: () => Buffer.concat(parts),
  };
}
