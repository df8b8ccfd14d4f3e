import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureSpeed, raisedSpeed } from '../../../src/daemon/measure/speed.js';

/** A clock that moves 1 ms each time it is read, and a CPU clock at `share` of it. */
function fakeClocks(share: number): { now: () => number; cpu: () => number } {
  let t = 0;
  return { now: () => ++t, cpu: () => t * share };
}

void test('measureSpeed rates the kernel by the CPU time it got, not by wall time', () => {
  const whole = fakeClocks(1);
  const half = fakeClocks(0.5);
  const alone = measureSpeed(whole.now, 120, whole.cpu);
  const shared = measureSpeed(half.now, 120, half.cpu);
  // The same iterations in the same wall time, with half the CPU: twice as fast per CPU-ms.
  assert.equal(shared.iterationsPerMs, 2 * alone.iterationsPerMs);
  // A CPU clock that barely moves (coarse, or broken) is not believed below a quarter of wall.
  const stuck = fakeClocks(0);
  const ratio = measureSpeed(stuck.now, 120, stuck.cpu).iterationsPerMs / alone.iterationsPerMs;
  assert.ok(ratio > 3.8 && ratio < 4.2, `rated on a quarter of wall time: ${ratio}`);
});

void test('raisedSpeed keeps the fastest reading and ignores changes within the noise', () => {
  assert.equal(raisedSpeed(10_000, 15_000), 15_000);
  assert.equal(raisedSpeed(10_000, 10_200), 10_200);
  assert.equal(raisedSpeed(10_000, 10_150), undefined, 'within 2 %: noise');
  assert.equal(raisedSpeed(15_000, 9_700), undefined, 'slower readings never lower it');
});
