import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isOsmoError } from '../../../src/core/errors.js';
import type { Frame } from '../../../src/link/frames.js';
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  encodeFrame,
  encodeFrameHeader,
} from '../../../src/link/frames.js';

const frames: Frame[] = [
  { type: 8, payload: Buffer.from('hello') },
  { type: 255, payload: Buffer.alloc(0) },
  { type: 9, payload: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) },
  { type: 2, payload: Buffer.alloc(0) },
  { type: 100, payload: Buffer.alloc(300, 0xab) },
];
const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));

function plain(list: Frame[]): { type: number; payload: string }[] {
  return list.map((f) => ({ type: f.type, payload: f.payload.toString('hex') }));
}

describe('frame codec', () => {
  it('encodes the header as u32 LE length of type + payload, then the type', () => {
    assert.deepEqual([...encodeFrameHeader(0x42, 3)], [4, 0, 0, 0, 0x42]);
    assert.deepEqual([...encodeFrameHeader(7, 0)], [1, 0, 0, 0, 7]);
    assert.deepEqual([...encodeFrame(9, Buffer.from('ab'))], [3, 0, 0, 0, 9, 0x61, 0x62]);
    assert.throws(
      () => encodeFrameHeader(256, 0),
      (e) => isOsmoError(e, 'E_INTERNAL'),
    );
    assert.throws(
      () => encodeFrameHeader(8, -1),
      (e) => isOsmoError(e, 'E_INTERNAL'),
    );
    assert.throws(
      () => encodeFrameHeader(8, 2 ** 32),
      (e) => isOsmoError(e, 'E_INTERNAL'),
    );
  });

  it('round-trips a stream pushed whole', () => {
    const d = new FrameDecoder(1024);
    assert.deepEqual(plain(d.push(stream)), plain(frames));
    assert.equal(d.bufferedBytes, 0);
  });

  it('returns views into the chunk for frames wholly inside it', () => {
    const chunk = encodeFrame(8, Buffer.from('zero-copy'));
    const [frame] = new FrameDecoder(1024).push(chunk);
    assert.ok(frame);
    assert.equal(frame.payload.buffer, chunk.buffer);
    assert.equal(frame.payload.byteOffset, chunk.byteOffset + FRAME_HEADER_BYTES);
  });

  it('returns a view when only the header came in an earlier chunk', () => {
    const d = new FrameDecoder(1024);
    assert.deepEqual(d.push(encodeFrameHeader(8, 4)), []);
    const chunk = Buffer.from('abcd');
    const [frame] = d.push(chunk);
    assert.equal(frame?.payload.toString(), 'abcd');
    assert.equal(frame?.payload.buffer, chunk.buffer);
  });

  it('gives the same frames for the stream split at every point, or at every two points', () => {
    for (let i = 0; i <= stream.length; i++) {
      const d = new FrameDecoder(1024);
      const got = [...d.push(stream.subarray(0, i)), ...d.push(stream.subarray(i))];
      assert.deepEqual(plain(got), plain(frames), `split at ${i}`);
    }
    for (let i = 0; i <= stream.length; i += 3) {
      for (let j = i; j <= stream.length; j++) {
        const d = new FrameDecoder(1024);
        const got = [
          ...d.push(stream.subarray(0, i)),
          ...d.push(stream.subarray(i, j)),
          ...d.push(stream.subarray(j)),
        ];
        assert.deepEqual(plain(got), plain(frames), `split at ${i} and ${j}`);
      }
    }
  });

  it('gives the same frames fed byte by byte', () => {
    const d = new FrameDecoder(1024);
    const got: Frame[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    assert.deepEqual(plain(got), plain(frames));
  });

  it('does not change a delivered payload when later chunks arrive', () => {
    const d = new FrameDecoder(1024);
    const first = encodeFrame(8, Buffer.from('first'));
    const half = first.length - 2;
    d.push(first.subarray(0, half));
    const [frame] = d.push(Buffer.concat([first.subarray(half), encodeFrame(9, Buffer.from('x'))]));
    d.push(encodeFrame(10, Buffer.from('later')));
    assert.equal(frame?.payload.toString(), 'first');
  });

  it('accepts a payload of exactly maxFrameBytes and refuses one byte more, for good', () => {
    assert.equal(new FrameDecoder(4).push(encodeFrame(8, Buffer.alloc(4)))[0]?.payload.length, 4);
    const d = new FrameDecoder(4);
    // The header alone is enough to refuse: the payload is never awaited.
    assert.throws(
      () => d.push(encodeFrameHeader(8, 5)),
      (e) =>
        isOsmoError(e, 'E_PROTO_DECODE') &&
        /5 payload bytes exceeds the limit of 4/.test(e.message),
    );
    assert.ok(d.failed);
    assert.throws(
      () => d.push(encodeFrame(8, Buffer.alloc(1))),
      (e) => isOsmoError(e, 'E_PROTO_DECODE'),
    );
  });

  it('refuses an oversized length however the header is split', () => {
    const header = encodeFrameHeader(8, 1_000_000);
    for (let i = 1; i < header.length; i++) {
      const d = new FrameDecoder(1000);
      assert.deepEqual(d.push(header.subarray(0, i)), []);
      assert.throws(
        () => d.push(header.subarray(i)),
        (e) => isOsmoError(e, 'E_PROTO_DECODE'),
      );
    }
  });

  it('refuses a zero length (no type byte), after delivering the frames before it', () => {
    const d = new FrameDecoder(1024);
    const good = encodeFrame(8, Buffer.from('ok'));
    assert.throws(
      () => d.push(Buffer.concat([good, Buffer.from([0, 0, 0, 0, 8])])),
      (e) => isOsmoError(e, 'E_PROTO_DECODE') && /length 0/.test(e.message),
    );
    assert.throws(
      () => d.push(good),
      (e) => isOsmoError(e, 'E_PROTO_DECODE'),
    );
  });

  it('stays linear for a large frame fed in 1-byte chunks', () => {
    // Quadratic buffering (concatenating on every chunk) would copy ~2 TB here; a deadline
    // checked along the way makes such an implementation fail within seconds, not hours.
    const size = 2 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 7) & 0xff;
    const wire = encodeFrame(200, payload);
    const d = new FrameDecoder(size);
    const started = performance.now();
    const got: Frame[] = [];
    for (let i = 0; i < wire.length; i++) {
      got.push(...d.push(wire.subarray(i, i + 1)));
      if ((i & 0xffff) === 0) {
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 10_000, `not linear: ${i} bytes took ${elapsed.toFixed(0)} ms`);
      }
    }
    assert.equal(got.length, 1);
    assert.equal(got[0]!.type, 200);
    assert.ok(got[0]!.payload.equals(payload));
    assert.equal(d.bufferedBytes, 0);
  });
});
