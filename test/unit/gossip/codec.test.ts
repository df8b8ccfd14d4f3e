import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/core/random.js';
import type { Random } from '../../../src/core/random.js';
import { isOsmoError } from '../../../src/core/errors.js';
import {
  DEFAULT_DECODE_LIMITS,
  decodeWindow,
  decodeWindowOrThrow,
  encodeWindow,
} from '../../../src/gossip/codec.js';
import type { NodeRecord, WindowMessage } from '../../../src/gossip/types.js';
import { SEED } from './helpers.js';

function randomMessage(random: Random, entries: number): WindowMessage {
  const records: NodeRecord[] = [];
  const agesMs: number[] = [];
  for (let i = 0; i < entries; i++) {
    records.push({
      id: random.next(),
      cluster: `cluster-${random.int(3)}`,
      address: random.int(2) === 0 ? `10.0.${random.int(256)}.${random.int(256)}:5301` : 'hôte-ü:1',
      info: {
        cpus: random.int(256),
        speed: random.int(100_000),
        load: Math.fround(random.float() * 64),
        freeMemBytes: random.int(2 ** 32) * 256,
        totalMemBytes: Number.MAX_SAFE_INTEGER,
        freeSwapBytes: 0,
        totalSwapBytes: random.int(2 ** 20),
        guests: random.int(1000),
        flags: random.int(8),
      },
    });
    agesMs.push(i === 0 ? 0 : random.int(10_000_000) - 1000);
  }
  return { version: 1, ageOffsetMs: random.int(100) - 50, records, agesMs };
}

void test('encode → decode round-trips, including negative ages and large integers', () => {
  const random = seededRandom(SEED);
  for (let i = 0; i < 200; i++) {
    const message = randomMessage(random, 1 + random.int(40));
    const decoded = decodeWindow(encodeWindow(message));
    assert.ok(decoded.ok, `seed=${SEED} case ${i}: ${decoded.ok ? '' : decoded.message}`);
    assert.deepEqual(decoded.message, { ...message, agesMs: [...message.agesMs] });
  }
});

void test('a 16-entry window fits easily in one datagram', () => {
  // Worst-ish case: random 32-bit ids and huge memory figures, ~50 bytes per entry.
  const bytes = encodeWindow(randomMessage(seededRandom(SEED), 16));
  assert.ok(bytes.length < 1024, `${bytes.length} bytes`);
});

void test('every truncation is rejected with a code, never a throw', () => {
  const bytes = encodeWindow(randomMessage(seededRandom(SEED), 5));
  for (let len = 0; len < bytes.length; len++) {
    const result = decodeWindow(bytes.subarray(0, len));
    assert.equal(result.ok, false, `prefix of ${len} bytes accepted`);
    if (!result.ok) assert.equal(result.code, 'E_PROTO_DECODE');
  }
});

void test('random corruption never throws and never yields an invalid message', () => {
  const random = seededRandom(SEED);
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = encodeWindow(randomMessage(random, 1 + random.int(8)));
    const flips = 1 + random.int(4);
    for (let f = 0; f < flips; f++) {
      const at = random.int(bytes.length);
      bytes[at] = bytes[at]! ^ (1 << random.int(8));
    }
    const result = decodeWindow(bytes);
    if (!result.ok) {
      rejected++;
      assert.match(result.code, /^E_PROTO_(DECODE|VERSION)$/);
      continue;
    }
    // Accepted corruption is still well-formed: the core's checks (ages, ids) do the rest.
    for (const r of result.message.records) {
      assert.ok(Number.isSafeInteger(r.id) && r.id >= 0 && r.id <= 0xffffffff);
      assert.ok(Number.isFinite(r.info.load) && r.info.load >= 0);
    }
  }
  assert.ok(rejected > 100, `only ${rejected} corruptions detected (seed=${SEED})`);
});

void test('random garbage is rejected', () => {
  const random = seededRandom(SEED);
  for (let i = 0; i < 2000; i++) {
    const bytes = new Uint8Array(random.int(64));
    for (let j = 0; j < bytes.length; j++) bytes[j] = random.int(256);
    if (i % 2 === 0 && bytes.length >= 4) bytes.set([0x4f, 0x47, 1, 1]);
    assert.doesNotThrow(() => decodeWindow(bytes));
  }
});

void test('limits, versions and trailing bytes', () => {
  const message = randomMessage(seededRandom(SEED), 10);
  const bytes = encodeWindow(message);
  const tooLarge = decodeWindow(bytes, { ...DEFAULT_DECODE_LIMITS, maxBytes: bytes.length - 1 });
  assert.ok(!tooLarge.ok && tooLarge.reason === 'too-large');
  const tooMany = decodeWindow(bytes, { ...DEFAULT_DECODE_LIMITS, maxEntries: 9 });
  assert.ok(!tooMany.ok && tooMany.reason === 'limit');
  const v2 = bytes.slice();
  v2[2] = 2;
  const wrongVersion = decodeWindow(v2);
  assert.ok(!wrongVersion.ok && wrongVersion.code === 'E_PROTO_VERSION');
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  const trailing = decodeWindow(longer);
  assert.ok(!trailing.ok && trailing.reason === 'trailing-bytes');
  assert.throws(
    () => decodeWindowOrThrow(v2),
    (e) => isOsmoError(e, 'E_PROTO_VERSION'),
  );
});

void test('an empty window cannot be encoded', () => {
  assert.throws(
    () => encodeWindow({ version: 1, ageOffsetMs: 0, records: [], agesMs: [] }),
    (e) => isOsmoError(e, 'E_INTERNAL'),
  );
});
