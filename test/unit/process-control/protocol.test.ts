import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_PATH_BYTES,
  PROCESS_CONTROL_VERSION,
  encodeRequest,
  encodeResponse,
  errorResponse,
  okResponse,
  parseImageResult,
  parseMessage,
  parseProcessInfo,
  parseRequest,
  parseResponse,
} from '../../../src/process-control/protocol.js';
import { FakeControl } from './fake-control.js';

void test('requests round-trip through the codec; unknown fields are ignored', () => {
  for (const r of [
    { id: 1, op: 'info' },
    { id: 2, op: 'checkpoint' },
    { id: 3, op: 'checkpoint', file: '/tmp/a b.osmo' },
    { id: 4, op: 'freeze' },
    { id: 5, op: 'continue' },
    { id: 6, op: 'migrate', to: 'n2' },
    { id: 7, op: 'migrate', to: 'home' },
    { id: 8, op: 'migrate', to: 'n3', expectedQueue: 1.5 },
  ] as const) {
    const parsed = parseRequest(encodeRequest(r));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.request, r);
  }
  const extra = parseRequest(JSON.stringify({ v: 1, id: 9, op: 'info', later: { x: 1 } }));
  assert.ok(extra.ok);
  assert.deepEqual(extra.request, { id: 9, op: 'info' });
});

void test('bad requests are answered with a code and the request id', () => {
  const cases: [line: string, code: string, id: number][] = [
    ['garbage', 'E_PROTO_DECODE', 0],
    ['\u0000\u00ff', 'E_PROTO_DECODE', 0],
    ['[1]', 'E_PROTO_DECODE', 0],
    ['null', 'E_PROTO_DECODE', 0],
    ['"info"', 'E_PROTO_DECODE', 0],
    [JSON.stringify({ v: 2, id: 3, op: 'info' }), 'E_PROTO_VERSION', 3],
    [JSON.stringify({ id: 4, op: 'info' }), 'E_PROTO_VERSION', 4],
    [JSON.stringify({ v: 1, id: 5 }), 'E_PROTO_DECODE', 5],
    [JSON.stringify({ v: 1, id: 6, op: 'kill' }), 'E_USAGE', 6],
    [JSON.stringify({ v: 1, id: 7, op: 'toString' }), 'E_USAGE', 7],
    [JSON.stringify({ v: 1, id: 8, op: 'checkpoint', args: { file: 'rel.osmo' } }), 'E_USAGE', 8],
    [JSON.stringify({ v: 1, id: 9, op: 'checkpoint', args: { file: 42 } }), 'E_USAGE', 9],
    [
      JSON.stringify({ v: 1, id: 10, op: 'checkpoint', args: { file: '/a\u0000b' } }),
      'E_USAGE',
      10,
    ],
    [
      JSON.stringify({
        v: 1,
        id: 11,
        op: 'checkpoint',
        args: { file: '/' + 'x'.repeat(MAX_PATH_BYTES) },
      }),
      'E_USAGE',
      11,
    ],
    [JSON.stringify({ v: 1, id: 1.5, op: 'nope' }), 'E_USAGE', 0],
    [JSON.stringify({ v: 1, id: 12, op: 'migrate', args: { to: 'n/2' } }), 'E_USAGE', 12],
    [
      JSON.stringify({ v: 1, id: 13, op: 'migrate', args: { to: 'n2', expectedQueue: -1 } }),
      'E_USAGE',
      13,
    ],
    [
      JSON.stringify({ v: 1, id: 14, op: 'migrate', args: { to: 'n2', expectedQueue: '2' } }),
      'E_USAGE',
      14,
    ],
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
  assert.ok(!unknown.ok && unknown.error.message.includes('info, checkpoint, freeze, continue'));
});

void test('a mailbox message carries its bytes exactly; data that is not padded base64 is refused', () => {
  const from = { fromHome: 'n1', fromPid: 7 };
  for (const bytes of [Buffer.alloc(0), Buffer.from('a'), Buffer.from('ab'), randomBytes(65536)]) {
    const parsed = parseMessage({ ...from, data: bytes.toString('base64') });
    if (typeof parsed === 'string') assert.fail(parsed);
    assert.deepEqual(parsed.payload, bytes);
  }
  // Each of these Node's decoder would turn into some bytes, silently.
  for (const data of ['not base64!', 'YQ', 'YQ==YQ==', 'Y Q==', 'YQ==\n', 'Y-Q=', 7, undefined]) {
    assert.equal(parseMessage({ ...from, data }), '"data" must be base64', JSON.stringify(data));
  }
});

void test('a raw deliver: its bytes come from after the line; the line alone is refused', () => {
  const payload = randomBytes(1000);
  const line = encodeRequest({
    id: 5,
    op: 'deliver',
    fromHome: 'n1',
    fromPid: 7,
    payload,
    raw: true,
  });
  assert.ok(!line.includes('"data"'), line);
  const parsed = parseRequest(line, payload);
  if (!parsed.ok) assert.fail(parsed.error.message);
  assert.deepEqual(parsed.request, { id: 5, op: 'deliver', fromHome: 'n1', fromPid: 7, payload });
  const alone = parseRequest(line);
  assert.ok(
    !alone.ok && /"dataBytes" must be a count of bytes that follow/.test(alone.error.message),
  );
  const both = parseRequest(
    encodeRequest({ id: 6, op: 'deliver', fromHome: 'n1', fromPid: 7, payload }),
    payload,
  );
  assert.ok(!both.ok && /not both/.test(both.error.message));
});

void test('responses round-trip; malformed ones are rejected', () => {
  assert.deepEqual(parseResponse(encodeResponse(okResponse(3, null))), {
    v: PROCESS_CONTROL_VERSION,
    id: 3,
    ok: true,
    result: null,
  });
  const err = parseResponse(
    encodeResponse(errorResponse(4, { code: 'E_NO_PROCESS', message: 'm', details: { pid: 1 } })),
  );
  assert.deepEqual(err, {
    v: 1,
    id: 4,
    ok: false,
    error: { code: 'E_NO_PROCESS', message: 'm', details: { pid: 1 } },
  });
  for (const bad of [
    'garbage',
    '{"v":1,"ok":true,"result":1}',
    '{"v":1,"id":1,"ok":true}',
    '{"v":1,"id":1,"ok":false,"error":{}}',
    '{"id":1,"ok":true,"result":1}',
    '[]',
  ]) {
    assert.equal(parseResponse(bad), undefined, bad);
  }
});

void test('ProcessInfo and ImageResult are checked field by field', () => {
  const info = new FakeControl(42, '/tmp').info();
  assert.deepEqual(parseProcessInfo(JSON.parse(JSON.stringify(info))), info);
  assert.deepEqual(parseProcessInfo({ ...info, checkpointFile: '/x' })?.checkpointFile, '/x');
  // Optional profile fields: a malformed one is left out, the rest of the reading kept.
  const lastMove = { from: 'home', to: 'n2', ms: 90, imageBytes: 1 << 24, transferMs: 70.5 };
  assert.deepEqual(parseProcessInfo({ ...info, lastMove })?.lastMove, lastMove);
  const halfMove = parseProcessInfo({ ...info, lastMove: { ...lastMove, imageBytes: -1 } });
  assert.equal(halfMove?.lastMove, undefined);
  assert.equal(halfMove?.pid, 42);
  for (const broken of [
    { ...info, pid: '42' },
    { ...info, state: 'zombie' },
    { ...info, cpuTimeMs: -1 },
    { ...info, command: ['a', 1] },
    { ...info, checkpointFile: 3 },
    { ...info, preemptible: undefined },
    null,
    [],
  ]) {
    assert.equal(parseProcessInfo(broken), undefined, JSON.stringify(broken));
  }
  assert.deepEqual(parseImageResult({ file: '/f', bytes: 3, ms: 1, extra: 1 }), {
    file: '/f',
    bytes: 3,
    ms: 1,
  });
  assert.equal(parseImageResult({ file: '/f', bytes: 'x', ms: 1 }), undefined);
});
