/**
 * Snapshot image I/O: `node dist/bench/snapshot-io.js [--sizes 16,256,1024] [--rounds 3]
 * [--dir DIR] [--skip-compression]`. Prints Markdown tables of
 *   capture  writeImageFile (atomic, fsync'd) of a real WebAssembly.Memory, vs a same-run baseline:
 *            fs.writeSync of the same non-zero bytes + fsync;
 *   restore  openImageFile (validates every checksum) + copyMemoryInto a fresh, grown Memory, vs a
 *            baseline: fs.readSync of the raw bytes into a fresh Memory;
 *   sizes    raw memory / sparse image / deflate image;
 *   codecs   per-1-MiB-chunk throughput and ratio of the compressors that could be used.
 * The files are read back right after being written, so restore figures are from the page cache.
 */
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { openImageFile, writeImageFile } from '../src/snapshot/index.js';
import type { Compression, SnapshotImage } from '../src/snapshot/index.js';
import { fmt, median } from './measure.js';

const PAGE = 65536;
const MiB = 1024 * 1024;
const argv = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const at = argv.indexOf(name);
  return at >= 0 ? (argv[at + 1] ?? dflt) : dflt;
};
const sizesMiB = arg('--sizes', '16,256,1024').split(',').map(Number);
const rounds = Number(arg('--rounds', '3'));
const dir = mkdtempSync(join(arg('--dir', tmpdir()), 'osmo-snapbench-'));

type Shape = 'dense' | 'half-zero' | 'structured';

/** A real wasm memory grown to `mib`, filled per shape. */
function makeMemory(mib: number, shape: Shape): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: 0, maximum: 65536 });
  memory.grow((mib * MiB) / PAGE);
  const view = new Uint8Array(memory.buffer);
  // half-zero: 4 MiB of data, 4 MiB never touched, alternating (a heap with holes).
  for (let off = 0; off < view.length; off += 4 * MiB) {
    const block = view.subarray(off, off + 4 * MiB);
    if (shape === 'half-zero' && (off / (4 * MiB)) % 2 === 1) continue;
    if (shape === 'structured') {
      // Small integers and repeated structs: what a heap of counters and pointers looks like.
      const words = new Int32Array(block.buffer, block.byteOffset, block.length / 4);
      for (let i = 0; i < words.length; i++) words[i] = (i & 1023) * ((i >>> 10) & 7);
    } else randomFillSync(block);
  }
  return memory;
}

function image(memory: WebAssembly.Memory): SnapshotImage {
  return {
    moduleHash: '0'.repeat(64),
    memory: new Uint8Array(memory.buffer),
    globals: [{ name: '__stack_pointer', type: 'i32', value: 65536 }],
    stack: { address: 1024, bytes: new Uint8Array(1024) },
    counters: { cpuTimeNs: 1n, monotonicLastNs: 2n, ticks: 3n },
    deputy: { args: ['bench'], env: [], cwd: '/', fds: [] },
  };
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
function timeMs(fn: () => void): number {
  const t = nowMs();
  fn();
  return nowMs() - t;
}
async function timeMsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = nowMs();
  await fn();
  return nowMs() - t;
}

/**
 * Baseline write: the non-zero pages only (what any sparse format must at least write), with the
 * same durability protocol as writeImageFile (new temp file, fsync, rename over the old one), so
 * the ratio isolates the cost of the format itself.
 */
function baselineWrite(path: string, view: Uint8Array, touched: (page: number) => boolean): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  for (let off = 0; off < view.length; off += 4 * MiB) {
    if (touched(off / PAGE)) writeSync(fd, view, off, 4 * MiB);
  }
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
}

function baselineRead(path: string, memory: WebAssembly.Memory): void {
  const fd = openSync(path, 'r');
  const view = new Uint8Array(memory.buffer);
  let pos = 0;
  for (;;) {
    const n = readSync(fd, view, pos, Math.min(16 * MiB, view.length - pos), pos);
    if (n <= 0) break;
    pos += n;
  }
  closeSync(fd);
}

const mbps = (bytes: number, ms: number): string => fmt(bytes / MiB / (ms / 1000), 0);

console.log('# Snapshot image I/O\n');
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, rounds ${rounds} (medians), files in ${dir}\n`,
);
console.log('## Capture and restore\n');
console.log(
  'MB/s are of touched (non-zero) memory. Baselines: writeSync of the same non-zero bytes to a temp file + fsync + rename (as writeImageFile does) / readSync of them into a fresh Memory.\n',
);
console.log(
  '| memory | shape | capture ms | capture MB/s | baseline write MB/s | capture / baseline | restore ms | restore MB/s | baseline read MB/s | restore / baseline | raw MiB | sparse image MiB |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');

for (const mib of sizesMiB) {
  for (const shape of ['dense', 'half-zero'] as const) {
    const memory = makeMemory(mib, shape);
    const view = new Uint8Array(memory.buffer);
    const touched = (page: number): boolean =>
      shape === 'dense' || Math.floor((page * PAGE) / (4 * MiB)) % 2 === 0;
    const touchedBytes = shape === 'dense' ? view.length : view.length / 2;
    const imagePath = join(dir, `img-${mib}-${shape}.osmosnap`);
    const rawPath = join(dir, `raw-${mib}-${shape}.bin`);
    const cap: number[] = [];
    const base: number[] = [];
    const res: number[] = [];
    const baseR: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate the order: the first large write after a free often pays for page reclaim.
      const writeBase = (): void =>
        void base.push(timeMs(() => baselineWrite(rawPath, view, touched)));
      if (r % 2 === 0) writeBase();
      cap.push(await timeMsAsync(() => writeImageFile(imagePath, image(memory))));
      if (r % 2 === 1) writeBase();
      baseR.push(
        timeMs(() => {
          const fresh = new WebAssembly.Memory({ initial: 0, maximum: 65536 });
          fresh.grow(statSync(rawPath).size / PAGE);
          baselineRead(rawPath, fresh);
        }),
      );
      res.push(
        timeMs(() => {
          const opened = openImageFile(imagePath);
          const fresh = new WebAssembly.Memory({ initial: 0, maximum: 65536 });
          fresh.grow(opened.meta.memoryPages);
          opened.copyMemoryInto(new Uint8Array(fresh.buffer));
          opened.close();
        }),
      );
    }
    const [c, b, rs, br] = [median(cap), median(base), median(res), median(baseR)];
    console.log(
      `| ${mib} MiB | ${shape} | ${fmt(c, 0)} | ${mbps(touchedBytes, c)} | ${mbps(touchedBytes, b)} | ${fmt(c / b)} | ${fmt(rs, 0)} | ${mbps(touchedBytes, rs)} | ${mbps(touchedBytes, br)} | ${fmt(rs / br)} | ${mib} | ${fmt(statSync(imagePath).size / MiB, 1)} |`,
    );
    rmSync(imagePath);
    rmSync(rawPath);
  }
}

/** The compressors that could serve a chunk codec, each on the same 1 MiB chunks. */
interface Compressor {
  name: string;
  compress(chunk: Uint8Array): Uint8Array;
  decompress(packed: Uint8Array, rawLength: number): Uint8Array;
}

function compressors(): Compressor[] {
  const list: Compressor[] = [
    {
      name: 'deflate-raw level 1 (node:zlib)',
      compress: (c) => zlib.deflateRawSync(c, { level: 1 }),
      decompress: (p) => zlib.inflateRawSync(p),
    },
  ];
  const z = zlib as unknown as {
    zstdCompressSync?: (b: Uint8Array, o?: unknown) => Buffer;
    zstdDecompressSync?: (b: Uint8Array) => Buffer;
  };
  if (z.zstdCompressSync !== undefined && z.zstdDecompressSync !== undefined) {
    const compress = z.zstdCompressSync;
    const decompress = z.zstdDecompressSync;
    list.push({
      name: 'zstd level 1 (node:zlib, Node ≥ 22.15)',
      compress: (c) => compress(c),
      decompress: (p) => decompress(p),
    });
  }
  // lz4-napi is not a dependency; measured when present (npm i lz4-napi, or OSMO_BENCH_MODULES=dir).
  try {
    const req = createRequire(process.env['OSMO_BENCH_MODULES'] ?? import.meta.url);
    const lz4 = req('lz4-napi') as {
      compressSync(b: Uint8Array): Buffer;
      uncompressSync(b: Uint8Array): Buffer;
    };
    list.push({
      name: 'lz4 block (lz4-napi)',
      compress: (c) => lz4.compressSync(c),
      decompress: (p) => lz4.uncompressSync(p),
    });
  } catch {
    // Not installed: the table says so.
  }
  return list;
}

if (!argv.includes('--skip-compression')) {
  const sampleMiB = 64;
  console.log(`\n## Chunk compressors (${sampleMiB} MiB, 1 MiB chunks, single thread)\n`);
  console.log('| shape | codec | compress MB/s | decompress MB/s | size / raw |');
  console.log('|---|---|---|---|---|');
  const crcTimes: number[] = [];
  for (const shape of ['dense', 'structured'] as const) {
    const view = new Uint8Array(makeMemory(sampleMiB, shape).buffer);
    crcTimes.push(timeMs(() => zlib.crc32(view)));
    console.log(
      `| ${shape} | none (copy) | ${mbps(
        view.length,
        timeMs(() => view.slice()),
      )} | – | 1.00 |`,
    );
    for (const codec of compressors()) {
      const packed: Uint8Array[] = [];
      const cMs = median(
        Array.from({ length: rounds }, () =>
          timeMs(() => {
            packed.length = 0;
            for (let off = 0; off < view.length; off += MiB)
              packed.push(codec.compress(view.subarray(off, off + MiB)));
          }),
        ),
      );
      const dMs = median(
        Array.from({ length: rounds }, () =>
          timeMs(() => packed.forEach((p) => codec.decompress(p, MiB))),
        ),
      );
      const size = packed.reduce((s, p) => s + p.length, 0);
      console.log(
        `| ${shape} | ${codec.name} | ${mbps(view.length, cMs)} | ${mbps(view.length, dMs)} | ${fmt(size / view.length)} |`,
      );
    }
  }
  if (!compressors().some((c) => c.name.startsWith('lz4')))
    console.log('| – | lz4-napi | not installed | | |');
  console.log(
    `\nCRC-32 (zlib.crc32) of ${sampleMiB} MiB: ${mbps(sampleMiB * MiB, median(crcTimes))} MB/s`,
  );

  console.log(`\n## Image size and capture by write option (${sampleMiB} MiB)\n`);
  console.log('| shape | compression | chunk pages | capture MB/s | image MiB |');
  console.log('|---|---|---|---|---|');
  for (const shape of ['dense', 'half-zero', 'structured'] as const) {
    const memory = makeMemory(sampleMiB, shape);
    const touchedBytes = shape === 'half-zero' ? (sampleMiB * MiB) / 2 : sampleMiB * MiB;
    const variants: [Compression, number][] = [
      ['none', 1],
      ['none', 16],
      ['none', 64],
      ['none', 256],
      ['deflate', 16],
    ];
    for (const [compression, chunkPages] of variants) {
      const path = join(dir, 'v.osmosnap');
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) {
        times.push(
          await timeMsAsync(() => writeImageFile(path, image(memory), { compression, chunkPages })),
        );
      }
      console.log(
        `| ${shape} | ${compression} | ${chunkPages} | ${mbps(touchedBytes, median(times))} | ${fmt(statSync(path).size / MiB, 1)} |`,
      );
      rmSync(path);
    }
  }
}
rmSync(dir, { recursive: true, force: true });
