/**
 * Damaged images: truncated at every byte, single bytes flipped at seeded random positions, and
 * random junk. Both readers — the file reader and the streaming one a move uses, fed in pieces of
 * seeded sizes — must either refuse with a snapshot OsmoError or decode exactly the original —
 * never anything else, and never throw a foreign exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOsmoError } from '../../../src/core/errors.js';
import { readImage, writeImage } from '../../../src/snapshot/index.js';
import { ImageStreamReader } from '../../../src/snapshot/stream-reader.js';
import type { SnapshotImage, SnapshotMeta } from '../../../src/snapshot/index.js';
import { expectedMeta, makeMemory, memorySink, rng, sampleImage } from './helpers.js';

const SEED = Number(process.env['OSMO_FUZZ_SEED'] ?? 20240607);

async function encode(image: SnapshotImage, compression: 'none' | 'deflate'): Promise<Uint8Array> {
  const sink = memorySink();
  await writeImage(sink, image, { compression, chunkPages: 2 });
  return sink.bytes();
}

type Outcome = 'refused' | 'same';

/** Decodes with the file reader. */
function decodeWhole(bytes: Uint8Array): { meta: SnapshotMeta; memory: Uint8Array } {
  const r = readImage(bytes);
  const memory = new Uint8Array(r.meta.memoryPages * 65536);
  r.copyMemoryInto(memory);
  return { meta: r.meta, memory };
}

/** Decodes with the streaming reader, in pieces of 1..`maxPiece` bytes. */
function decodeStreaming(
  bytes: Uint8Array,
  maxPiece: number,
  next: () => number,
): { meta: SnapshotMeta; memory: Uint8Array } {
  let memory = new Uint8Array(0);
  const reader = new ImageStreamReader({
    memory: (pages) => {
      if (memory.length < pages * 65536) memory = new Uint8Array(pages * 65536);
      return memory;
    },
  });
  for (let at = 0; at < bytes.length;) {
    const n = 1 + (next() % maxPiece);
    reader.push(bytes.subarray(at, at + n));
    at += n;
  }
  return { meta: reader.end(), memory };
}

const pieces = rng(SEED + 7);

/**
 * Decodes `bytes` fully with both readers; returns 'same' only if everything equals `image`,
 * 'refused' only if both refused, else throws.
 */
function attempt(bytes: Uint8Array, image: SnapshotImage, label: string): Outcome {
  const whole = attemptWith(() => decodeWhole(bytes), image, label);
  const maxPiece = pieces() % 2 === 0 ? 7 : 70_000;
  const streamed = attemptWith(
    () => decodeStreaming(bytes, maxPiece, pieces),
    image,
    `${label} (streamed)`,
  );
  assert.equal(streamed, whole, `${label}: the streaming reader disagrees with the file reader`);
  return whole;
}

function attemptWith(
  decode: () => { meta: SnapshotMeta; memory: Uint8Array },
  image: SnapshotImage,
  label: string,
): Outcome {
  try {
    const { meta, memory } = decode();
    for (const [k, v] of Object.entries(expectedMeta(image))) {
      assert.deepEqual(meta[k as keyof typeof meta], v, `${label}: wrong ${k} decoded`);
    }
    assert.ok(
      Buffer.from(memory.subarray(0, image.memory.length)).equals(image.memory),
      `${label}: wrong memory decoded`,
    );
    return 'same';
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    if (!isOsmoError(e, 'E_SNAPSHOT_CORRUPT') && !isOsmoError(e, 'E_SNAPSHOT_VERSION')) {
      assert.fail(`${label} (seed ${SEED}): foreign error ${String(e)}`);
    }
    return 'refused';
  }
}

describe('snapshot reader fuzz', () => {
  const images = {
    // Small on disk (pattern pages deflate to little), so every byte can be tried.
    deflate: sampleImage(
      makeMemory(7, (p) => p % 2 === 0 && p !== 4),
      3,
    ),
    // Raw random pages: the real-world shape, tried at sampled positions.
    raw: sampleImage(
      makeMemory(4, (p) => p !== 2),
      5,
    ),
  };

  for (const [name, image] of Object.entries(images)) {
    it(`refuses every truncation (${name})`, async () => {
      const bytes = await encode(image, name === 'deflate' ? 'deflate' : 'none');
      assert.equal(attempt(bytes, image, 'whole'), 'same');
      const next = rng(SEED);
      const cuts =
        bytes.length <= 8192
          ? Array.from({ length: bytes.length }, (_, i) => i)
          : [
              ...Array.from({ length: 4096 }, (_, i) => i),
              ...Array.from({ length: 400 }, () => next() % bytes.length),
            ];
      for (const n of cuts) {
        assert.equal(
          attempt(bytes.subarray(0, n), image, `cut at ${n}/${bytes.length}`),
          'refused',
          `cut at ${n}`,
        );
      }
    });

    it(`never decodes wrongly with one byte changed (${name}, seeded)`, async () => {
      const bytes = await encode(image, name === 'deflate' ? 'deflate' : 'none');
      const next = rng(SEED + 1);
      const rounds = name === 'deflate' ? 3000 : 400;
      for (let i = 0; i < rounds; i++) {
        const damaged = Buffer.from(bytes);
        const at = next() % damaged.length;
        damaged[at] = damaged[at]! ^ (1 + (next() % 255));
        // CRC-32 catches every single-byte change, so no flip may decode at all.
        assert.equal(
          attempt(damaged, image, `flip at ${at}`),
          'refused',
          `flip at ${at} (seed ${SEED})`,
        );
      }
    });
  }

  it('refuses random junk and junk behind a valid magic', () => {
    const next = rng(SEED + 2);
    const image = images.raw;
    for (let i = 0; i < 300; i++) {
      const junk = new Uint8Array(next() % 300);
      for (let j = 0; j < junk.length; j++) junk[j] = next() & 0xff;
      if (i % 2 === 0 && junk.length >= 8) junk.set(Buffer.from('OSMOSNAP'));
      assert.equal(attempt(junk, image, `junk ${i}`), 'refused');
    }
  });
});
