/** The deputy's read-ahead window (src/migration/read-ahead-window.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FIRST_WINDOW,
  MAX_WINDOW,
  ReadAheadWindows,
} from '../../../src/migration/read-ahead-window.js';

const ROOM = 1 << 20;

test('nothing on a first read; then a window that doubles while the program reads in order', () => {
  const w = new ReadAheadWindows();
  let end = 4096n;
  assert.equal(w.afterRead(3, end, 4096, 4096, ROOM), 0, 'one read says nothing of the next');
  const sizes: number[] = [];
  for (let i = 0; i < 6; i++) {
    // The program consumed all that was sent, then read again where it ended.
    end += 4096n;
    const k = w.afterRead(3, end, 4096, 4096, ROOM);
    sizes.push(k);
    w.sent(3, k);
    end += BigInt(k);
  }
  assert.deepEqual(sizes, [
    FIRST_WINDOW,
    2 * FIRST_WINDOW,
    4 * FIRST_WINDOW,
    MAX_WINDOW,
    MAX_WINDOW,
    MAX_WINDOW,
  ]);
});

test('a read elsewhere, a short read or no room stops it', () => {
  const w = new ReadAheadWindows();
  w.afterRead(3, 100n, 100, 100, ROOM);
  const k = w.afterRead(3, 200n, 100, 100, ROOM);
  w.sent(3, k);
  assert.equal(
    w.afterRead(3, 300n, 100, 100, ROOM),
    0,
    'came back before the end of what was sent',
  );
  assert.equal(w.afterRead(3, 350n, 50, 100, ROOM), 0, 'a short read (the end of the file)');
  w.afterRead(4, 100n, 100, 100, ROOM);
  assert.equal(w.afterRead(4, 200n, 100, 100, 10), 10, 'never more than the room');
  w.forget(4);
  assert.equal(w.afterRead(4, 300n, 100, 100, ROOM), 0, 'a closed fd starts again');
});

test("a file's first bytes sent with its open: the first read after them is in order", () => {
  const w = new ReadAheadWindows();
  w.opened(3, FIRST_WINDOW);
  const end = BigInt(FIRST_WINDOW) + 4096n;
  assert.equal(w.afterRead(3, end, 4096, 4096, ROOM), 2 * FIRST_WINDOW);
});
