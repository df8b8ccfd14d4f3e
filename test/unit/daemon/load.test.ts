import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseLoad, smoothLoad, utilisation } from '../../../src/daemon/measure/load.js';

void test('smoothLoad rises as a 5:3 (old:new) average and drops at once', () => {
  const table: [previous: number, sample: number, expected: number][] = [
    [0, 0, 0],
    [0, 8, 3], // (5·0 + 3·8) / 8
    [3, 8, 4.875], // (15 + 24) / 8
    [1, 1, 1], // steady
    [4, 2, 2], // drop: at once
    [4, 0, 0],
    [2, 10, 5], // (10 + 30) / 8
    [5, NaN, 5], // bad sample ignored
    [5, -1, 5],
  ];
  for (const [previous, sample, expected] of table) {
    assert.equal(smoothLoad(previous, sample), expected, `smoothLoad(${previous}, ${sample})`);
  }
});

void test('a steady queue is approached from below, never overshot', () => {
  let load = 0;
  const seen: number[] = [];
  for (let i = 0; i < 20; i++) {
    load = smoothLoad(load, 4);
    seen.push(load);
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]! && seen[i]! <= 4);
  assert.ok(4 - seen[19]! < 0.01, `after 20 samples ${seen[19]}`);
});

void test('normaliseLoad divides by processors and speed (10 000 = reference)', () => {
  const table: [smoothed: number, cpus: number, speed: number, expected: number][] = [
    [2, 2, 10_000, 1],
    [2, 1, 20_000, 1],
    [4, 2, 20_000, 1],
    [1, 4, 10_000, 0.25],
    [3, 0, 10_000, 3], // nonsense cpus: unnormalised rather than Infinity
  ];
  for (const [s, c, sp, e] of table) assert.equal(normaliseLoad(s, c, sp), e);
  assert.equal(utilisation(0.5, 10_000), 0.5);
  assert.equal(utilisation(3, 10_000), 1);
  assert.equal(utilisation(0.25, 20_000), 0.5);
});
