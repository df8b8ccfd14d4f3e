/** Waiting for room in a full stream (src/native/relay.ts): one wait however many ask at once. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { roomIn } from '../../../src/native/relay.js';

/** A stream that takes nothing until `take` is called: full after its first byte. */
function heldStream(): { stream: Writable; take: () => void } {
  let held: (() => void) | undefined;
  const stream = new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      held = callback;
    },
  });
  return { stream, take: () => held?.() };
}

describe('roomIn', () => {
  it('gives every caller waiting at once the same wait, with one listener of each kind', async () => {
    const { stream, take } = heldStream();
    assert.equal(stream.write('x'), false);
    const waits = Array.from({ length: 20 }, () => roomIn(stream));
    assert.equal(new Set(waits).size, 1);
    assert.equal(stream.listenerCount('drain'), 1);
    assert.equal(stream.listenerCount('close'), 1);
    take();
    await Promise.all(waits);
    assert.equal(stream.listenerCount('drain'), 0);
    assert.equal(stream.listenerCount('close'), 0);
    // Full again: a new wait, not the settled one.
    assert.equal(stream.write('y'), false);
    const again = roomIn(stream);
    assert.notEqual(again, waits[0]);
    take();
    await again;
  });

  it('settles when the stream closes instead of draining', async () => {
    const { stream } = heldStream();
    stream.write('x');
    const wait = roomIn(stream);
    stream.destroy();
    await wait;
    assert.equal(stream.listenerCount('close'), 0);
  });
});
