import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StdinWindow } from '../../../src/native/stdin-window.js';

/** Whether `p` has settled by the time queued microtasks ran. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('the stdin window of a native program', () => {
  it('lets bytes go until the window is full, then waits for what the program took', async () => {
    const window = new StdinWindow(100);
    assert.equal(window.spend(60), undefined);
    assert.equal(window.spend(39), undefined);
    const wait = window.spend(1)!;
    assert.ok(wait instanceof Promise, 'full at 100 bytes');
    window.taken(0);
    assert.equal(await settled(wait), false);
    window.taken(1);
    assert.equal(await settled(wait), true);
  });

  it('releases every sender waiting, and counts a report of more than was sent as all of it', async () => {
    const window = new StdinWindow(10);
    const first = window.spend(10)!;
    const second = window.spend(5)!;
    window.taken(1000);
    assert.deepEqual(await Promise.all([settled(first), settled(second)]), [true, true]);
    assert.equal(window.spend(9), undefined, 'nothing is outstanding any more');
  });

  it('lets everyone go once the link is gone', async () => {
    const window = new StdinWindow(10);
    const wait = window.spend(50)!;
    window.releaseAll();
    assert.equal(await settled(wait), true);
  });
});
