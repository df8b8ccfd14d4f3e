import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRunAt } from '../../../src/daemon/scheduler.js';

void test('nextRunAt stays on the anchor grid and skips missed runs instead of bunching them', () => {
  const table: [anchor: number, period: number, now: number, expected: number][] = [
    [100, 50, 0, 100], // before the first run
    [100, 50, 100, 150], // just ran at 100
    [100, 50, 101, 150], // a late timer does not shift the grid
    [100, 50, 149.9, 150],
    [100, 50, 399, 400], // stalled for 5 periods: next grid point, not 5 catch-up runs
    [0.5, 1000, 1000.5, 2000.5],
  ];
  for (const [a, p, n, e] of table)
    assert.equal(nextRunAt(a, p, n), e, `nextRunAt(${a}, ${p}, ${n})`);
});
