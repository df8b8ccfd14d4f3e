import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONTROL_VERSION,
  MAX_LINE_BYTES,
  encodeLine,
  parseRequest,
  parseResponse,
} from '../../../src/daemon/control-protocol.js';
import { LineDecoder } from '../../../src/protocol/json-lines.js';

void test('a valid request parses; unknown fields are ignored', () => {
  const r = parseRequest(JSON.stringify({ v: 1, id: 7, op: 'status', extra: true }));
  assert.ok(r.ok);
  assert.equal(r.request.op, 'status');
  assert.equal(r.request.id, 7);
});

void test('bad requests are answered with an error carrying the request id', () => {
  const cases: [line: string, code: string, id: number][] = [
    ['not json', 'E_PROTO_DECODE', 0],
    ['[1,2]', 'E_PROTO_DECODE', 0],
    [JSON.stringify({ v: 2, id: 3, op: 'status' }), 'E_PROTO_VERSION', 3],
    [JSON.stringify({ id: 4, op: 'status' }), 'E_PROTO_VERSION', 4],
    [JSON.stringify({ v: 1, id: 5 }), 'E_PROTO_DECODE', 5],
    [JSON.stringify({ v: 1, id: 6, op: 'format-disk' }), 'E_USAGE', 6],
  ];
  for (const [line, code, id] of cases) {
    const r = parseRequest(line);
    assert.equal(r.ok, false, line);
    if (!r.ok) {
      assert.equal(r.error.code, code, line);
      assert.equal(r.id, id, line);
    }
  }
  const unknown = parseRequest(JSON.stringify({ v: 1, id: 1, op: 'nope' }));
  assert.ok(!unknown.ok && unknown.error.message.includes('status'), 'names the known ops');
});

void test('responses round-trip; malformed ones are rejected', () => {
  const ok = parseResponse(encodeLine({ v: CONTROL_VERSION, id: 9, ok: true, result: { a: 1 } }));
  assert.deepEqual(ok, { v: 1, id: 9, ok: true, result: { a: 1 } });
  const err = parseResponse(
    encodeLine({ v: 1, id: 2, ok: false, error: { code: 'E_USAGE', message: 'x' } }),
  );
  assert.equal(err?.ok, false);
  assert.equal(parseResponse('{"v":1,"ok":true}'), undefined);
  assert.equal(parseResponse('{"v":1,"id":1,"ok":false,"error":{}}'), undefined);
  assert.equal(parseResponse('garbage'), undefined);
});

void test('control lines reassemble fed whole, byte by byte and split anywhere', () => {
  const text = Buffer.from(
    encodeLine({ v: 1, id: 1, op: 'ping' }) + encodeLine({ v: 1, id: 2, op: 'status' }),
  );
  for (let cut = 0; cut <= text.length; cut++) {
    const s = new LineDecoder(MAX_LINE_BYTES);
    const lines = [...s.push(text.subarray(0, cut)), ...s.push(text.subarray(cut))];
    assert.equal(lines.length, 2, `cut at ${cut}`);
    assert.equal((JSON.parse(lines[1]!) as { id: number }).id, 2);
  }
  const s = new LineDecoder(MAX_LINE_BYTES);
  const bytewise = [...text].flatMap((b) => s.push(Uint8Array.of(b)));
  assert.equal(bytewise.length, 2);
});

void test('a control line over the limit is refused, even before its newline arrives', () => {
  const s = new LineDecoder(100);
  assert.deepEqual(s.push(Buffer.from('x'.repeat(60))), []);
  assert.equal(s.overflow, false);
  assert.deepEqual(s.push(Buffer.from('x'.repeat(60))), []);
  assert.equal(s.overflow, true);
  assert.deepEqual(s.push(Buffer.from('\n{"v":1}\n')), [], 'stays closed');
});
