import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  entriesWithAgeAtMost,
  expectedWindowSize,
  fixedWindowFormulas,
  thresholdForWindow,
  timeToReachFraction,
} from '../../../src/gossip/formulas.js';
import { isOsmoError } from '../../../src/core/errors.js';

// shared/research/gossip.md, "Table from the formulas (average age / maximal age)".
const TABLE: readonly [n: number, w: number, avg: number, max: number][] = [
  [32, 4, 8.79, 30.8],
  [32, 8, 5.6, 15.4],
  [32, 16, 4.5, 7.7],
  [64, 8, 9.56, 37.0],
  [64, 16, 6.35, 18.5],
  [64, 20, 5.82, 14.8],
  [128, 8, 17.54, 85.9],
  [128, 16, 10.29, 42.9],
  [128, 20, 8.94, 34.3],
  [128, 32, 7.08, 21.5],
  [256, 8, 33.53, 194.8],
  [256, 16, 18.27, 97.4],
  [256, 20, 15.31, 77.9],
  [256, 32, 11.01, 48.7],
  [1024, 16, 66.25, 479.8],
  [1024, 20, 53.68, 383.9],
  [1024, 32, 34.97, 239.9],
];

void test('formulas reproduce every cell of the research table', () => {
  for (const [n, w, avg, max] of TABLE) {
    const f = fixedWindowFormulas(n, w);
    // The table is rounded to 2 / 1 decimals; allow one unit of the last digit for its rounding.
    assert.ok(Math.abs(f.meanAge - avg) <= 0.011, `n=${n} w=${w}: mean ${f.meanAge} vs ${avg}`);
    assert.ok(Math.abs(f.maxAge - max) <= 0.11, `n=${n} w=${w}: max ${f.maxAge} vs ${max}`);
  }
});

void test('T(w) inverts X_T', () => {
  for (const [n, w] of TABLE) {
    assert.ok(
      Math.abs(expectedWindowSize(n, thresholdForWindow(n, w)) - w) < 1e-9,
      `n=${n} w=${w}`,
    );
  }
});

void test('the closed-form approximations are close to the exact formulas for large n', () => {
  const f = fixedWindowFormulas(1024, 16);
  assert.ok(Math.abs(f.approxMeanAge / f.meanAge - 1) < 0.01);
  assert.ok(Math.abs(f.approxMaxAge / f.maxAge - 1) < 0.01);
});

void test('spread time inverts entriesWithAgeAtMost', () => {
  const n = 256;
  const w = 16;
  const t = timeToReachFraction(n, w, 0.99);
  const T = thresholdForWindow(n, w);
  assert.ok(Math.abs(entriesWithAgeAtMost(n, T, t) / n - 0.99) < 1e-9);
});

void test('nonsense arguments are E_USAGE errors', () => {
  assert.throws(
    () => fixedWindowFormulas(32, 32),
    (e) => isOsmoError(e, 'E_USAGE'),
  );
  assert.throws(
    () => fixedWindowFormulas(2, 1),
    (e) => isOsmoError(e, 'E_USAGE'),
  );
});
