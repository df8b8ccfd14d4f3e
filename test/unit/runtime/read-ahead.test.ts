/**
 * The guest's side of read-ahead (src/runtime/read-ahead.ts): reads served from bytes that came
 * ahead, the offsets they owe the deputy, and what drops them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYSCALL_IDS } from '../../../src/protocol/syscall-table.js';
import { HELD_FOR_MS, ReadAhead } from '../../../src/runtime/read-ahead.js';

const op = (name: string): number => SYSCALL_IDS.get(name)!;
const bytes = (n: number, from = 0): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => from + i);

test('reads are served from bytes read ahead, in order, and owe their length to the deputy', () => {
  const ra = new ReadAhead(() => 0);
  ra.keep(3, bytes(10));
  assert.deepEqual([...ra.take(3, 4)!], [0, 1, 2, 3]);
  assert.deepEqual([...ra.take(3, 100)!], [4, 5, 6, 7, 8, 9]);
  assert.equal(ra.take(3, 1), undefined, 'all consumed: the next read asks the deputy');
  assert.equal(ra.take(4, 1), undefined, 'nothing held for another fd');
  assert.deepEqual(ra.before(op('fdRead'), 3), [[3, 10]], 'paid before the next request');
  assert.deepEqual(ra.settle(), [], 'once');
});

test('a call that may change a file or an offset drops what is held; reads and stdout keep it', () => {
  const ra = new ReadAhead(() => 0);
  ra.keep(3, bytes(8));
  ra.take(3, 2);
  assert.deepEqual(ra.before(op('fdWrite'), 1), [[3, 2]]);
  assert.deepEqual(ra.before(op('fdRead'), 5), []);
  assert.deepEqual(ra.before(op('fdFilestatGet'), 3), []);
  assert.equal(ra.take(3, 1)?.[0], 2, 'kept across writes to stdout, reads of other fds, stat');
  assert.deepEqual(ra.before(op('fdWrite'), 7), [[3, 1]], 'a write to a file: owed paid…');
  assert.equal(ra.take(3, 1), undefined, '…and the rest dropped');
  for (const name of ['fdSeek', 'pathOpen', 'fdClose', 'fdPwrite', 'pathUnlinkFile']) {
    ra.keep(3, bytes(4));
    ra.before(op(name), 3);
    assert.equal(ra.take(3, 1), undefined, `${name} drops it`);
  }
});

test('bytes read ahead are not served once older than HELD_FOR_MS', () => {
  let now = 0;
  const ra = new ReadAhead(() => now);
  ra.keep(3, bytes(8));
  ra.take(3, 1);
  now = HELD_FOR_MS + 1;
  assert.equal(ra.take(3, 1), undefined);
  assert.deepEqual(ra.settle(), [[3, 1]], 'what was consumed before is still owed');
});

test('the end of a file known with the answer: the read that finds it is answered here', () => {
  const ra = new ReadAhead(() => 0);
  ra.keep(3, new Uint8Array(0), true);
  assert.equal(ra.take(3, 100)?.length, 0, 'end of file, no request');
  assert.equal(ra.take(3, 100), undefined, 'once: the next read asks the deputy again');
  ra.keep(4, bytes(3), true);
  assert.equal(ra.take(4, 100)?.length, 3);
  assert.equal(ra.take(4, 100)?.length, 0);
  assert.deepEqual(ra.settle(), [[4, 3]]);
});

test('a closed fd owes nothing: its offset goes with it', () => {
  const ra = new ReadAhead(() => 0);
  ra.keep(3, bytes(8));
  ra.keep(4, bytes(8));
  ra.take(3, 5);
  ra.take(4, 2);
  assert.deepEqual(ra.before(op('fdClose'), 3), [[4, 2]]);
});
