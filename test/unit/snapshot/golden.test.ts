/**
 * The golden image of format 1.0: CI decodes tests/fixtures/snapshot/v1-golden.osmosnap and
 * checks it against v1-golden.json. The fixture is the contract for every later reader, so it is
 * regenerated only on request: OSMO_REGEN_GOLDEN=1 node scripts/run-tests.mjs snapshot/golden
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readImage, writeImage } from '../../../src/snapshot/index.js';
import type { SnapshotImage, SnapshotMeta } from '../../../src/snapshot/index.js';
import { makeMemory, memorySink, repoRoot, sampleImage } from './helpers.js';

const dir = join(repoRoot, 'tests', 'fixtures', 'snapshot');
const imagePath = join(dir, 'v1-golden.osmosnap');
const jsonPath = join(dir, 'v1-golden.json');

/** Pages 0, 2, 6 compressible, 1 random (stored raw), 3–5 zero: both codecs and a gap. */
function goldenImage(): SnapshotImage {
  return sampleImage(
    makeMemory(7, (p) => p <= 2 || p === 6),
    7,
  );
}

/** The JSON form of decoded content: bigints as decimal strings, bytes as sha256/hex. */
function describeImage(meta: SnapshotMeta, memory: Uint8Array): unknown {
  return {
    formatMajor: meta.formatMajor,
    formatMinor: meta.formatMinor,
    requiredFeatures: meta.requiredFeatures,
    optionalFeatures: meta.optionalFeatures,
    moduleHash: meta.moduleHash,
    memoryPages: meta.memoryPages,
    nonZeroPages: meta.nonZeroPages,
    chunkCount: meta.chunkCount,
    memorySha256: createHash('sha256').update(memory).digest('hex'),
    globals: meta.globals.map((g) => ({
      name: g.name,
      type: g.type,
      value:
        typeof g.value === 'bigint'
          ? g.value.toString()
          : Object.is(g.value, -0)
            ? '-0'
            : String(g.value),
    })),
    stack:
      meta.stack === null
        ? null
        : { address: meta.stack.address, bytesHex: Buffer.from(meta.stack.bytes).toString('hex') },
    counters: Object.fromEntries(Object.entries(meta.counters).map(([k, v]) => [k, v.toString()])),
    deputy: meta.deputy,
  };
}

function decode(bytes: Uint8Array): unknown {
  const r = readImage(bytes);
  const memory = new Uint8Array(r.meta.memoryPages * 65536);
  r.copyMemoryInto(memory);
  return describeImage(r.meta, memory);
}

describe('golden snapshot image v1', () => {
  if (process.env['OSMO_REGEN_GOLDEN'] === '1') {
    it('regenerates the fixture (OSMO_REGEN_GOLDEN=1)', async () => {
      const sink = memorySink();
      await writeImage(sink, goldenImage(), { compression: 'deflate', chunkPages: 1 });
      const bytes = sink.bytes();
      writeFileSync(imagePath, bytes);
      writeFileSync(jsonPath, `${JSON.stringify(decode(bytes), null, 2)}\n`);
    });
  }

  it('decodes to exactly what v1-golden.json records', () => {
    const expected: unknown = JSON.parse(readFileSync(jsonPath, 'utf8'));
    assert.deepEqual(decode(readFileSync(imagePath)), expected);
  });

  it('holds both raw and deflate chunks and skips the zero pages', () => {
    const r = readImage(readFileSync(imagePath));
    assert.equal(r.meta.requiredFeatures, 1);
    assert.equal(r.meta.nonZeroPages, 4);
    assert.equal(r.meta.chunkCount, 4);
  });

  it('is what the current writer would decode to (the sample has not drifted)', async () => {
    const sink = memorySink();
    const image = goldenImage();
    await writeImage(sink, image, { compression: 'none' });
    assert.deepEqual(decode(sink.bytes()), {
      ...(decode(readFileSync(imagePath)) as object),
      requiredFeatures: 0,
      chunkCount: 2,
    });
  });
});
