import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinePayloadDecoder } from '../../../src/protocol/line-payloads.js';
import type { LineWithPayload } from '../../../src/protocol/line-payloads.js';
import { encodeRequest, requestPayloadBytes } from '../../../src/process-control/protocol.js';

const deliver = (id: number, payload: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from(
      encodeRequest({ id, op: 'deliver', fromHome: 'n1', fromPid: 7, payload, raw: true }),
    ),
    payload,
  ]);

// A payload with newlines in it (they are data, not line ends), an empty one, lines between.
const withNewlines = Buffer.from('one\ntwo\n\nthree\n');
const stream = Buffer.concat([
  Buffer.from(encodeRequest({ id: 1, op: 'info' })),
  deliver(2, withNewlines),
  deliver(3, Buffer.alloc(0)),
  Buffer.from(encodeRequest({ id: 4, op: 'freeze' })),
  deliver(5, Buffer.from([0, 255, 10, 13])),
]);

function summary(out: readonly LineWithPayload[]): unknown[] {
  return out.map(({ line, payload }) => [
    (JSON.parse(line) as { id: number }).id,
    payload?.toString('hex'),
  ]);
}

const expected = [
  [1, undefined],
  [2, withNewlines.toString('hex')],
  [3, ''],
  [4, undefined],
  [5, '00ff0a0d'],
];

const decoder = (): LinePayloadDecoder => new LinePayloadDecoder(1024, 64, requestPayloadBytes);

void test('lines and the payloads they announce, fed whole', () => {
  assert.deepEqual(summary(decoder().push(stream)), expected);
});

void test('split at every offset, and byte by byte', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = decoder();
    const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
    assert.deepEqual(summary(out), expected, `cut at ${cut}`);
  }
  const d = decoder();
  const out: LineWithPayload[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
  assert.deepEqual(summary(out), expected);
});

void test('a payload is a copy: the caller may reuse its buffer', () => {
  const chunk = Buffer.from(deliver(1, Buffer.from('abc')));
  const [first] = decoder().push(chunk);
  chunk.fill(0);
  assert.equal(first?.payload?.toString(), 'abc');
});

void test('a payload over the limit, or not a count, cuts the stream off for good', () => {
  const big = decoder();
  assert.deepEqual(big.push(Buffer.concat([deliver(1, Buffer.alloc(65)), stream])), []);
  assert.equal(big.overflow, true);
  assert.deepEqual(big.push(stream), [], 'nothing after it');

  for (const dataBytes of [-1, 1.5, '3', null]) {
    const line = `{"v":1,"id":9,"op":"deliver","args":{"fromHome":"n1","fromPid":7,"dataBytes":${JSON.stringify(dataBytes)}}}\n`;
    const d = decoder();
    assert.deepEqual(d.push(Buffer.from(line + 'abc')), [], `dataBytes ${String(dataBytes)}`);
    assert.equal(d.overflow, true);
  }
});

void test('an overlong line still cuts the stream off', () => {
  const d = new LinePayloadDecoder(16, 64, requestPayloadBytes);
  assert.deepEqual(d.push(Buffer.from(encodeRequest({ id: 1, op: 'info' }))), []);
  assert.equal(d.overflow, true);
});

void test('only a deliver announces a payload', () => {
  assert.equal(requestPayloadBytes('{"v":1,"id":1,"op":"info","args":{"dataBytes":3}}'), undefined);
  assert.equal(requestPayloadBytes('{"v":1,"id":1,"op":"info"}'), undefined);
  assert.equal(requestPayloadBytes('{"v":1,"id":1,"op":"deliver","args":{"dataBytes":3}}'), 3);
  assert.equal(requestPayloadBytes('{"dataBytes": not json'), undefined);
});
