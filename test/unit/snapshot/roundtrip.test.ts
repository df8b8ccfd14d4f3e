/** Images round-trip exactly; zero pages are skipped; readers refuse what they do not know. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { isOsmoError } from '../../../src/core/errors.js';
import { crc32 } from '../../../src/snapshot/crc32.js';
import { HEADER_BYTES, SECTION_HEADER_BYTES, SectionType } from '../../../src/snapshot/format.js';
import { encodeSectionHeader } from '../../../src/snapshot/header.js';
import { readImage, writeImage } from '../../../src/snapshot/index.js';
import type { SnapshotImage } from '../../../src/snapshot/index.js';
import { ImageStreamReader } from '../../../src/snapshot/stream-reader.js';
import { PAGE, expectedMeta, makeMemory, memorySink, sampleImage } from './helpers.js';

async function encode(
  image: SnapshotImage,
  compression: 'none' | 'deflate' = 'none',
  chunkPages?: number,
): Promise<Uint8Array> {
  const sink = memorySink();
  await writeImage(
    sink,
    image,
    chunkPages === undefined ? { compression } : { compression, chunkPages },
  );
  return sink.bytes();
}

function assertMeta(bytes: Uint8Array, image: SnapshotImage): ReturnType<typeof readImage> {
  const r = readImage(bytes);
  const want = expectedMeta(image);
  for (const [k, v] of Object.entries(want))
    assert.deepEqual(r.meta[k as keyof typeof r.meta], v, k);
  return r;
}

/** Rewrites the header CRC after a test edits header fields on purpose. */
function reseal(bytes: Uint8Array): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(60, crc32(bytes.subarray(0, 60)), true);
}

/** Inserts a section right after the file header. */
function withExtraSection(
  bytes: Uint8Array,
  type: number,
  flags: number,
  payload: Uint8Array,
  bumpEnd = true,
): Uint8Array {
  const head = new Uint8Array(SECTION_HEADER_BYTES);
  encodeSectionHeader({ type, flags, length: payload.length, crc: crc32(payload) }, head);
  const out = Buffer.concat([
    bytes.subarray(0, HEADER_BYTES),
    head,
    payload,
    bytes.subarray(HEADER_BYTES),
  ]);
  if (bumpEnd) {
    // The END payload counts the sections before it; keep that total honest.
    const endPayloadAt = out.length - 16;
    out.writeUInt32LE(out.readUInt32LE(endPayloadAt) + 1, endPayloadAt);
    const endHead = out.subarray(endPayloadAt - SECTION_HEADER_BYTES, endPayloadAt);
    encodeSectionHeader(
      { type: SectionType.END, flags: 1, length: 16, crc: crc32(out.subarray(endPayloadAt)) },
      endHead,
    );
  }
  return out;
}

describe('snapshot round trip', () => {
  for (const compression of ['none', 'deflate'] as const) {
    it(`restores memory, globals, stack, counters and deputy state exactly (${compression})`, async () => {
      const memory = makeMemory(40, (p) => p % 5 !== 0 && p !== 17);
      const image = sampleImage(memory);
      const bytes = await encode(image, compression, 4);
      const r = assertMeta(bytes, image);
      assert.equal(r.meta.nonZeroPages, 40 - 8 - 1);
      const restored = new Uint8Array(memory.length);
      r.copyMemoryInto(restored);
      assert.ok(Buffer.from(restored).equals(memory));
      const viaChunks = new Uint8Array(memory.length);
      for (const c of r.chunks()) viaChunks.set(c.data, c.firstPage * PAGE);
      assert.ok(Buffer.from(viaChunks).equals(memory));
      if (compression === 'deflate') assert.ok(bytes.length < (memory.length * 3) / 4);
    });
  }

  it('skips zero pages: an all-zero memory stores no chunk', async () => {
    const image = sampleImage(new Uint8Array(64 * PAGE));
    const bytes = await encode(image);
    assert.ok(bytes.length < 2000, `image is ${bytes.length} bytes`);
    const r = assertMeta(bytes, image);
    assert.equal(r.meta.chunkCount, 0);
    assert.equal(r.meta.memoryPages, 64);
  });

  it('handles an empty memory and a null stack', async () => {
    const image = { ...sampleImage(new Uint8Array(0)), stack: null };
    assertMeta(await encode(image), image);
  });

  it('zeroes unlisted pages below zeroGapsBelowPage and leaves the rest alone', async () => {
    const memory = makeMemory(8, (p) => p === 2 || p === 5);
    const r = readImage(await encode(sampleImage(memory)));
    const target = new Uint8Array(8 * PAGE).fill(0xaa);
    r.copyMemoryInto(target, { zeroGapsBelowPage: 4 });
    assert.ok(Buffer.from(target.subarray(0, 4 * PAGE)).equals(memory.subarray(0, 4 * PAGE)));
    assert.equal(target[4 * PAGE], 0xaa, 'page 4 is above the limit: untouched');
    assert.ok(
      Buffer.from(target.subarray(5 * PAGE, 6 * PAGE)).equals(memory.subarray(5 * PAGE, 6 * PAGE)),
    );
  });

  it('streams into memory as the bytes come, zeroing the same gaps, growing on MEMORY_INFO', async () => {
    const memory = makeMemory(8, (p) => p === 2 || p === 5);
    const bytes = await encode(sampleImage(memory));
    let target = new Uint8Array(4 * PAGE).fill(0xaa);
    const asked: number[] = [];
    const reader = new ImageStreamReader({
      memory: (pages) => {
        asked.push(pages);
        if (target.length < pages * PAGE) {
          const grown = new Uint8Array(pages * PAGE);
          grown.set(target);
          target = grown;
        }
        return target;
      },
      zeroGapsBelowPage: 4,
    });
    for (let at = 0; at < bytes.length; at += 1000) reader.push(bytes.subarray(at, at + 1000));
    assert.equal(reader.end().memoryPages, 8);
    assert.equal(asked[0], 8);
    assert.ok(Buffer.from(target).equals(memory), 'pages 0..3 zeroed or copied, 4.. grown zero');
    assert.throws(
      () => reader.push(new Uint8Array(1)),
      (e) => isOsmoError(e, 'E_SNAPSHOT_CORRUPT') && /after END/.test(e.message),
    );
  });

  it('streamed: refuses another module at the header, before any memory is touched', async () => {
    const bytes = await encode(sampleImage(makeMemory(2, () => true)));
    const reader = new ImageStreamReader({
      memory: () => assert.fail('no memory may be asked for'),
      expectedModuleHash: 'ab'.repeat(32),
    });
    assert.throws(
      () => reader.push(bytes.subarray(0, 100)),
      (e) => isOsmoError(e, 'E_SNAPSHOT_MODULE'),
    );
  });

  it('writes to a Node Writable with back-pressure', async () => {
    const memory = makeMemory(64, () => true);
    const image = sampleImage(memory);
    const stream = new PassThrough({ highWaterMark: 1024 });
    const parts: Buffer[] = [];
    stream.on('data', (b: Buffer) => parts.push(Buffer.from(b)));
    const done = new Promise((resolve) => stream.on('end', resolve));
    await writeImage(stream, image);
    stream.end();
    await done;
    assertMeta(Buffer.concat(parts), image);
  });

  it('refuses a too small restore target', async () => {
    const r = readImage(await encode(sampleImage(makeMemory(4, () => true))));
    assert.throws(
      () => r.copyMemoryInto(new Uint8Array(3 * PAGE)),
      (e) => isOsmoError(e, 'E_MEMORY_LIMIT'),
    );
  });

  it('refuses invalid input to the writer without writing anything', async () => {
    const base = sampleImage(makeMemory(2, () => true));
    const bad: Partial<SnapshotImage>[] = [
      { moduleHash: 'xyz' },
      { memory: new Uint8Array(100) },
      { globals: [{ name: 'g', type: 'i32', value: 1.5 }] },
      { globals: [{ name: 'g', type: 'i64', value: 1 }] },
      { counters: { neg: -1n } },
      { deputy: undefined },
    ];
    for (const patch of bad) {
      const sink = memorySink();
      await assert.rejects(writeImage(sink, { ...base, ...patch }), (e) =>
        isOsmoError(e, 'E_SNAPSHOT_WRITE'),
      );
      assert.equal(sink.bytes().length, 0, JSON.stringify(Object.keys(patch)));
    }
  });
});

describe('snapshot versioning and identity', () => {
  it('refuses an image of another module with E_SNAPSHOT_MODULE', async () => {
    const image = sampleImage(makeMemory(2, () => true));
    const bytes = await encode(image);
    assert.doesNotThrow(() =>
      readImage(bytes, { expectedModuleHash: image.moduleHash.toUpperCase() }),
    );
    assert.throws(
      () => readImage(bytes, { expectedModuleHash: 'ab'.repeat(32) }),
      (e) => isOsmoError(e, 'E_SNAPSHOT_MODULE') && e.message.includes(image.moduleHash),
    );
  });

  it('refuses an unknown major version with E_SNAPSHOT_VERSION, accepts a newer minor', async () => {
    const bytes = await encode(sampleImage(makeMemory(2, () => true)));
    const major = Buffer.from(bytes);
    major.writeUInt16LE(2, 8);
    reseal(major);
    assert.throws(
      () => readImage(major),
      (e) => isOsmoError(e, 'E_SNAPSHOT_VERSION') && /version 2\.0/.test(e.message),
    );
    const minor = Buffer.from(bytes);
    minor.writeUInt16LE(7, 10);
    reseal(minor);
    assert.equal(readImage(minor).meta.formatMinor, 7);
  });

  it('refuses unknown required feature bits, ignores unknown optional ones', async () => {
    const bytes = await encode(sampleImage(makeMemory(2, () => true)));
    const req = Buffer.from(bytes);
    req.writeUInt32LE(0x80, 12);
    reseal(req);
    assert.throws(
      () => readImage(req),
      (e) => isOsmoError(e, 'E_SNAPSHOT_VERSION'),
    );
    const opt = Buffer.from(bytes);
    opt.writeUInt32LE(0xffff_ffff, 16);
    reseal(opt);
    assert.equal(readImage(opt).meta.optionalFeatures, 0xffff_ffff);
  });

  it('skips an unknown optional section and refuses an unknown required one', async () => {
    const image = sampleImage(makeMemory(3, () => true));
    const bytes = await encode(image);
    const payload = new Uint8Array([1, 2, 3, 4, 5]);
    assertMeta(withExtraSection(bytes, 0x0100, 0, payload), image);
    assert.throws(
      () => readImage(withExtraSection(bytes, 0x0100, 1, payload)),
      (e) => isOsmoError(e, 'E_SNAPSHOT_VERSION') && e.message.includes('0x100'),
    );
  });

  it('refuses an image whose END totals disagree (a section was lost or added)', async () => {
    const bytes = await encode(sampleImage(makeMemory(3, () => true)));
    const extra = withExtraSection(bytes, 0x0100, 0, new Uint8Array(1), false);
    assert.throws(
      () => readImage(extra),
      (e) => isOsmoError(e, 'E_SNAPSHOT_CORRUPT') && e.message.includes('END'),
    );
  });

  it('refuses trailing bytes after END', async () => {
    const bytes = await encode(sampleImage(makeMemory(1, () => true)));
    assert.throws(
      () => readImage(Buffer.concat([bytes, new Uint8Array(1)])),
      (e) => isOsmoError(e, 'E_SNAPSHOT_CORRUPT'),
    );
  });

  it('applies decode limits before allocating', async () => {
    const bytes = await encode(sampleImage(makeMemory(8, () => true)));
    assert.throws(
      () => readImage(bytes, { limits: { maxMemoryPages: 4 } }),
      (e) => isOsmoError(e, 'E_SNAPSHOT_CORRUPT') && e.message.includes('limit'),
    );
    assert.throws(
      () => readImage(bytes, { limits: { maxSectionBytes: 16 } }),
      (e) => isOsmoError(e, 'E_SNAPSHOT_CORRUPT') && e.message.includes('limit'),
    );
  });
});
