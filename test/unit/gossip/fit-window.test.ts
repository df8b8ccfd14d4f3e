import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWindowOrThrow, encodeWindow } from '../../../src/gossip/codec.js';
import { encodeWindowWithin } from '../../../src/gossip/fit-window.js';
import { windowOf } from './helpers.js';

const window = windowOf(Array.from({ length: 40 }, (_, i): [number, number] => [i + 1, i * 100]));

void test('a window that fits is sent whole', () => {
  const whole = encodeWindow(window);
  const fitted = encodeWindowWithin(window, whole.length);
  assert.equal(fitted?.kept, 40);
  assert.deepEqual(fitted?.bytes, whole);
});

void test('a window too large is cut to the longest prefix that fits: own entry and youngest', () => {
  const limit = Math.floor(encodeWindow(window).length / 3);
  const fitted = encodeWindowWithin(window, limit)!;
  assert.ok(fitted.bytes.length <= limit);
  assert.ok(fitted.kept > 1 && fitted.kept < 40);
  const one = windowOf(
    Array.from({ length: fitted.kept + 1 }, (_, i): [number, number] => [i + 1, i * 100]),
  );
  assert.ok(encodeWindow(one).length > limit, 'one entry more would not fit');
  const sent = decodeWindowOrThrow(fitted.bytes);
  assert.deepEqual(
    sent.records.map((r) => r.id),
    Array.from({ length: fitted.kept }, (_, i) => i + 1),
  );
  assert.deepEqual(
    [...sent.agesMs],
    Array.from({ length: fitted.kept }, (_, i) => i * 100),
  );
});

void test('a limit too small for the own entry alone gives nothing to send', () => {
  const ownOnly = encodeWindow(windowOf([[1, 0]]));
  assert.equal(encodeWindowWithin(window, ownOnly.length - 1), undefined);
  assert.equal(encodeWindowWithin(window, ownOnly.length)?.kept, 1);
});
