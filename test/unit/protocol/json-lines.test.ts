import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineDecoder } from '../../../src/protocol/json-lines.js';
import { encodeRequest } from '../../../src/process-control/protocol.js';

const text = Buffer.from(
  encodeRequest({ id: 1, op: 'info' }) +
    encodeRequest({ id: 2, op: 'checkpoint', file: '/tmp/é-ü/image.osmo' }) +
    encodeRequest({ id: 3, op: 'freeze' }),
);
const expected = text.toString('utf8').split('\n').filter(Boolean);

void test('lines fed whole', () => {
  assert.deepEqual(new LineDecoder(1024).push(text), expected);
});

void test('lines fed byte by byte, multi-byte UTF-8 characters split too', () => {
  const d = new LineDecoder(1024);
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) out.push(...d.push(text.subarray(i, i + 1)));
  assert.deepEqual(out, expected);
  assert.equal(d.pendingBytes, 0);
});

void test('lines split at every offset', () => {
  for (let cut = 0; cut <= text.length; cut++) {
    const d = new LineDecoder(1024);
    const out = [...d.push(text.subarray(0, cut)), ...d.push(text.subarray(cut))];
    assert.deepEqual(out, expected, `cut at ${cut}`);
  }
});

void test('a caller reusing its buffer does not corrupt a pending line', () => {
  const d = new LineDecoder(64);
  const buf = Buffer.from('{"a":');
  assert.deepEqual(d.push(buf), []);
  buf.fill(0x20);
  assert.deepEqual(d.push(Buffer.from('1}\n')), ['{"a":1}']);
});

void test('blank lines are skipped; CRLF is tolerated by JSON', () => {
  assert.deepEqual(new LineDecoder(64).push(Buffer.from('\n\n  \n{"x":1}\r\n')), ['{"x":1}\r']);
});

void test('oversized: a line of exactly the limit passes, one byte more overflows for good', () => {
  const ok = new LineDecoder(8);
  assert.deepEqual(ok.push(Buffer.from('12345678\n')), ['12345678']);
  assert.equal(ok.overflow, false);

  const whole = new LineDecoder(8);
  assert.deepEqual(whole.push(Buffer.from('a\n123456789\nb\n')), ['a']);
  assert.equal(whole.overflow, true);
  assert.deepEqual(whole.push(Buffer.from('c\n')), [], 'nothing more after an overflow');

  // Without any newline (a client streaming garbage), memory stays bounded.
  const endless = new LineDecoder(8);
  for (let i = 0; i < 100 && !endless.overflow; i++) endless.push(Buffer.from('xx'));
  assert.equal(endless.overflow, true);
  assert.equal(endless.pendingBytes, 0);
});

void test('a large line fed byte by byte stays linear (no rescans)', () => {
  const big = Buffer.alloc(200_000, 0x61);
  const d = new LineDecoder(300_000);
  const start = performance.now();
  for (let i = 0; i < big.length; i++) d.push(big.subarray(i, i + 1));
  const out = d.push(Buffer.from('\n'));
  assert.equal(out[0]?.length, big.length);
  assert.ok(performance.now() - start < 5_000);
});
