import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUTH_HEADER_BYTES,
  REPLAY_WINDOW,
  ReplayGuard,
  SealCounter,
  deriveAuthKey,
  openDatagram,
  sealDatagram,
} from '../../../src/platform/auth-codec.js';

const key = deriveAuthKey(Buffer.from('correct horse battery staple 42'));
const other = deriveAuthKey(Buffer.from('another cluster secret entirely'));
const payload = Buffer.from('OG\x01\x01 a gossip window, opaque here');
const MAX = 1024;

void test('seal → open round-trips header fields and payload', () => {
  const sealed = sealDatagram(
    key,
    { senderId: 0xdeadbeef, epoch: 1_700_000_000, seq: 42 },
    payload,
  );
  assert.equal(sealed.length, AUTH_HEADER_BYTES + payload.length);
  const r = openDatagram(key, sealed, MAX);
  assert.ok(r.ok);
  assert.equal(r.senderId, 0xdeadbeef);
  assert.equal(r.epoch, 1_700_000_000);
  assert.equal(r.seq, 42);
  assert.deepEqual(Buffer.from(r.payload), payload);
});

void test('the key depends on the secret only, and its id tells keys apart', () => {
  assert.deepEqual(deriveAuthKey(Buffer.from('correct horse battery staple 42')), key);
  assert.notEqual(key.id, other.id);
});

void test('wrong secret: refused as unknown-key', () => {
  const sealed = sealDatagram(other, { senderId: 1, epoch: 1, seq: 1 }, payload);
  const r = openDatagram(key, sealed, MAX);
  assert.deepEqual(r, { ok: false, reason: 'unknown-key' });
});

void test('forged: any flipped bit in header or payload fails the MAC (or the envelope)', () => {
  const sealed = sealDatagram(key, { senderId: 7, epoch: 3, seq: 9 }, payload);
  for (let i = 0; i < sealed.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const forged = Buffer.from(sealed);
      forged[i]! ^= bit;
      const r = openDatagram(key, forged, MAX);
      assert.equal(r.ok, false, `byte ${i} bit ${bit}`);
      if (i === 3) continue; // flags byte: covered by the MAC, so still bad-mac
      const expected =
        i < 2 ? 'bad-magic' : i === 2 ? 'bad-version' : i < 8 ? 'unknown-key' : 'bad-mac';
      if (!r.ok) assert.equal(r.reason, expected, `byte ${i}`);
    }
  }
  // A forger without the key who recomputes nothing but swaps the payload:
  const swapped = Buffer.concat([sealed.subarray(0, AUTH_HEADER_BYTES), Buffer.from('evil')]);
  assert.deepEqual(openDatagram(key, swapped, MAX), { ok: false, reason: 'bad-mac' });
});

void test('truncated at every length, and oversized, are refused without throwing', () => {
  const sealed = sealDatagram(key, { senderId: 7, epoch: 3, seq: 9 }, payload);
  for (let n = 0; n < AUTH_HEADER_BYTES; n++) {
    assert.deepEqual(openDatagram(key, sealed.subarray(0, n), MAX), {
      ok: false,
      reason: 'truncated',
    });
  }
  for (let n = AUTH_HEADER_BYTES; n < sealed.length; n++) {
    assert.equal(openDatagram(key, sealed.subarray(0, n), MAX).ok, false, `length ${n}`);
  }
  assert.deepEqual(openDatagram(key, sealed, sealed.length - 1), {
    ok: false,
    reason: 'oversized',
  });
  assert.deepEqual(openDatagram(key, Buffer.alloc(MAX + 1), MAX), {
    ok: false,
    reason: 'oversized',
  });
});

void test('replayed: the same counter twice is refused, reordering within the window is not', () => {
  const g = new ReplayGuard();
  assert.equal(g.accept(1, 10, 5), true);
  assert.equal(g.accept(1, 10, 5), false, 'exact replay');
  assert.equal(g.accept(1, 10, 7), true);
  assert.equal(g.accept(1, 10, 6), true, 'late but in the window');
  assert.equal(g.accept(1, 10, 6), false, 'late replay');
  assert.equal(g.accept(1, 10, 7 + REPLAY_WINDOW), true);
  assert.equal(g.accept(1, 10, 7), false, 'fell out of the window');
  assert.equal(g.accept(1, 9, 1000), false, 'older incarnation');
  assert.equal(g.accept(1, 11, 1), true, 'restart: newer epoch');
  assert.equal(g.accept(1, 10, 9999), false, 'the old epoch is over');
  assert.equal(g.accept(2, 10, 5), true, 'senders are independent');
});

void test('replay state is bounded', () => {
  const g = new ReplayGuard(3);
  for (let s = 0; s < 10; s++) g.accept(s, 1, 1);
  assert.equal(g.size, 3);
});

void test('end to end: a captured datagram replayed later is dropped', () => {
  const counter = new SealCounter(5);
  const g = new ReplayGuard();
  const captured = sealDatagram(key, { senderId: 3, ...counter.next() }, payload);
  const accept = (b: Buffer): boolean => {
    const r = openDatagram(key, b, MAX);
    return r.ok && g.accept(r.senderId, r.epoch, r.seq);
  };
  assert.equal(accept(captured), true);
  for (let i = 0; i < 100; i++)
    assert.equal(accept(sealDatagram(key, { senderId: 3, ...counter.next() }, payload)), true);
  assert.equal(accept(captured), false);
});

void test('SealCounter strictly increases, rolling seq over into the next epoch', () => {
  const c = new SealCounter(7, 0xfffffffe);
  assert.deepEqual(c.next(), { epoch: 7, seq: 0xffffffff });
  assert.deepEqual(c.next(), { epoch: 8, seq: 1 });
});
