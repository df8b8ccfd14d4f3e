import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pooledProcessorSharing } from '../../src/sim/balance-pooled.js';
import { pooledServedLongestFirst } from '../../src/sim/balance-pooled-list.js';
import { scenarioNamed } from '../../src/sim/balance-scenarios.js';
import {
  DEFAULT_BALANCE_SIM_OPTIONS,
  makeWorkload,
  workloadFrom,
} from '../../src/sim/balance-workload.js';
import type { JobSpec, NodeSpec } from '../../src/sim/balance-workload.js';
import { makespanFloor } from '../../src/sim/makespan-floor.js';

const MIB = 2 ** 20;
const node = (i: number, speed = 10_000, cpus = 1): NodeSpec => ({
  name: `n${i}`,
  cpus,
  speed,
  memBytes: 4096 * MIB,
});
const job = (id: number, workSec: number, arrivalSec = 0): JobSpec => ({
  id,
  home: 0,
  workSec,
  memBytes: 64 * MIB,
  arrivalMs: arrivalSec * 1000,
  syscallsPerWorkSec: 0,
});
const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

void test('longest-served first on two equal CPUs is list scheduling; fair sharing for contrast', () => {
  const w = workloadFrom([node(0), node(1)], [job(0, 3), job(1, 1), job(2, 1), job(3, 1)]);
  // Jobs 0 and 1 start; job 1 ends at 1 and job 2 takes its CPU, then job 3 at 2; job 0 ends at 3.
  const list = pooledServedLongestFirst(w);
  close(list.makespanSec, 3, 'list makespan');
  close(list.meanSlowdown, (3 / 3 + 1 + 2 + 3) / 4, 'list mean slowdown');
  // Shared: four at 1/2 each; the three short ones end at 2, job 0 does its last 2 alone by 4.
  const ps = pooledProcessorSharing(w);
  close(ps.makespanSec, 4, 'PS makespan');
  close(ps.meanSlowdown, (4 / 3 + 2 + 2 + 2) / 4, 'PS mean slowdown');
});

void test('a started job moves up to the faster CPU a job ahead of it frees; a waiting one starts below', () => {
  // One CPU at twice the reference speed, one at it. Job 0 (1 s of work) on the fast CPU ends at
  // 0.5; job 1 (4 s) has done 0.5 on the slow one and does its last 3.5 at 2/s: ends at 2.25.
  // Job 2 (2 s), waiting, starts at 0.5 on the slow CPU; at 2.25 it has 0.25 left and moves up
  // to the fast one: ends at 2.375.
  const w = workloadFrom([node(0, 20_000), node(1, 10_000)], [job(0, 1), job(1, 4), job(2, 2)]);
  const r = pooledServedLongestFirst(w);
  close(r.makespanSec, 2.375, 'makespan');
  // Slowdowns against the fastest CPU: 0.5 / 0.5, 2.25 / 2, 2.375 / 1.
  close(r.meanSlowdown, (1 + 1.125 + 2.375) / 3, 'mean slowdown');
});

void test('a job arriving while every CPU is held waits for one, however short it is', () => {
  const w = workloadFrom([node(0), node(1)], [job(0, 2), job(1, 2), job(2, 0.5, 1)]);
  const r = pooledServedLongestFirst(w);
  // Job 2 arrives at 1, waits until 2, ends at 2.5.
  close(r.makespanSec, 2.5, 'makespan');
  close(r.meanSlowdown, (1 + 1 + 1.5 / 0.5) / 3, 'mean slowdown');
});

void test('over seeded batches: never below the ideal, never idle while a job waits (Graham)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const o = { ...DEFAULT_BALANCE_SIM_OPTIONS, nodes: 8, cpus: 2, jobs: 60, seed };
    const w = makeWorkload(o);
    const r = pooledServedLongestFirst(w);
    const m = 16;
    assert.ok(r.makespanSec >= w.idealSec - 1e-9, `seed ${seed}: below the ideal`);
    // List scheduling on m equal CPUs ends by Σwork / m + (1 − 1/m) × the longest job.
    const bound = w.totalWorkSec / m + (1 - 1 / m) * w.maxWorkSec;
    assert.ok(r.makespanSec <= bound + 1e-9, `seed ${seed}: ${r.makespanSec} > Graham's ${bound}`);
  }
  // Mixed speeds and arrivals over time: still never below the ideal.
  for (let seed = 1; seed <= 20; seed++) {
    const o = { ...DEFAULT_BALANCE_SIM_OPTIONS, nodes: 9, speeds: 'mixed' as const, seed };
    const w = makeWorkload({ ...o, jobs: 90, arrivalWindowSec: 200 });
    assert.ok(pooledServedLongestFirst(w).makespanSec >= w.idealSec - 1e-9, `seed ${seed}`);
  }
});

void test('makespan-floor: the same seeds give the same spread; the shares are of those seeds', () => {
  const o = { ...DEFAULT_BALANCE_SIM_OPTIONS, ...scenarioNamed('uniform-one-home')!.options };
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
  const a = makespanFloor(o, seeds);
  assert.deepEqual(makespanFloor(o, seeds), a);
  for (const s of [a.pooledPs, a.pooledList]) {
    assert.ok(s.p10Ratio <= s.medianRatio && s.medianRatio <= s.p90Ratio);
    assert.ok(s.meanRatio >= 1 && s.ratioOfMeans >= 1, 'a reference is never below the ideal');
    assert.ok(Number.isInteger(s.shareWithinGoal * seeds.length));
  }
  const first = makeWorkload({ ...o, seed: 1 });
  const ratio = pooledServedLongestFirst(first).makespanSec / first.idealSec;
  assert.ok(a.pooledList.p10Ratio <= ratio && ratio <= a.pooledList.p90Ratio * 2);
});

void test('osmo-sim makespan-floor: exit 2 on an unknown scenario or no seeds', () => {
  const cli = fileURLToPath(new URL('../../src/sim/cli.js', import.meta.url));
  const sim = (...args: string[]) =>
    spawnSync(process.execPath, [cli, 'makespan-floor', ...args], { encoding: 'utf8' });
  const unknown = sim('--scenario', 'nope');
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(unknown.stderr, /unknown scenario 'nope'/);
  assert.equal(sim('--seeds', '0').status, 2);
  const ok = sim('--seeds', '3', '--json');
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { scenario: string; seeds: number[] };
  assert.equal(report.scenario, 'uniform-one-home');
  assert.deepEqual(report.seeds, [1, 2, 3]);
});
