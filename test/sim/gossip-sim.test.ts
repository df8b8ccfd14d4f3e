import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedWindowFormulas } from '../../src/gossip/formulas.js';
import { measureAges, measureForgetting, measureJoin, waitFor } from '../../src/sim/experiments.js';
import { GossipSim, simAddress } from '../../src/sim/gossip-sim.js';
import { runGossipExperiment } from '../../src/sim/gossip-report.js';

/** Seed for every simulation here; GOSSIP_SEED=… replays a failure. */
const SEED = Number(process.env.GOSSIP_SEED ?? 1);
const at = (what: string): string => `${what} (seed=${SEED}; replay with GOSSIP_SEED=${SEED})`;

function allKnowAll(sim: GossipSim): boolean {
  for (let i = 0; i < sim.size; i++) {
    if (sim.isAlive(i) && sim.knownBy(i) < sim.aliveCount() - 1) return false;
  }
  return true;
}

void test('simulated ages match the formulas (fast cells; the full table is bench/gossip-table.ts)', () => {
  // The threshold window is the one the formulas describe; ages compared in whole steps.
  for (const [n, w] of [
    [32, 8],
    [32, 16],
    [64, 16],
    [128, 16],
    [256, 16],
  ] as const) {
    const r = runGossipExperiment({ nodes: n, window: w, seed: SEED, agesOnly: true }, () => 0);
    assert.equal(r.windowKind, 'threshold');
    assert.ok(
      Math.abs(r.meanAgeError) <= 0.05,
      at(`n=${n} w=${w}: mean ${r.measuredSteps.meanAge} vs ${r.formula.meanAge}`),
    );
    assert.ok(
      Math.abs(r.maxAgeError) <= 0.1,
      at(`n=${n} w=${w}: max ${r.measuredSteps.maxAge} vs ${r.formula.maxAge}`),
    );
    // maxAge is 4 × the expected maximal age: an entry that old is rare but not impossible.
    assert.ok(r.measured.coverage > 0.9999, at(`coverage ${r.measured.coverage} in steady state`));
  }
});

void test('whole steps are the continuous ages plus half a step; a fixed window runs older', () => {
  const threshold = runGossipExperiment(
    { nodes: 32, window: 16, seed: SEED, agesOnly: true },
    () => 0,
  );
  assert.equal(threshold.measuredSteps.meanAge, threshold.measured.meanAge + 0.5);
  assert.equal(threshold.measuredSteps.maxAge, threshold.measured.maxAge + 0.5);
  // The fixed window always carries w − 1 others, older ones included once fewer are young: its
  // entries reach the receivers older than the threshold window's (bench/gossip-table.ts).
  const fixed = runGossipExperiment(
    { nodes: 32, window: 16, windowKind: 'fixed', seed: SEED, agesOnly: true },
    () => 0,
  );
  assert.equal(fixed.windowKind, 'fixed');
  assert.ok(
    fixed.measured.meanAge > threshold.measured.meanAge,
    at(`fixed ${fixed.measured.meanAge} vs threshold ${threshold.measured.meanAge}`),
  );
  assert.ok(
    fixed.measured.maxAge > threshold.measured.maxAge,
    at(`fixed ${fixed.measured.maxAge} vs threshold ${threshold.measured.maxAge}`),
  );
});

void test('a cold-started cluster converges: all know all within 8 × the expected maximal age', () => {
  const n = 64;
  const sim = new GossipSim({ nodes: n, window: { kind: 'fixed', size: 8 }, seed: SEED });
  const bound = 8 * fixedWindowFormulas(n, 8).maxAge;
  const took = waitFor(sim, () => allKnowAll(sim), bound, 1);
  assert.ok(took !== undefined, at(`not converged after ${bound} intervals`));
});

void test('a dead node is forgotten by everyone within maxAge', () => {
  const maxAge = 80;
  const sim = new GossipSim({
    nodes: 48,
    window: { kind: 'fixed', size: 8 },
    seed: SEED,
    maxAgeMs: maxAge * 1000,
  });
  sim.runIntervals(300);
  assert.ok(allKnowAll(sim), at('not converged before the crash'));
  const took = measureForgetting(sim, 2 * maxAge);
  assert.ok(took !== undefined && took <= maxAge + 0.25, at(`forgotten after ${took} intervals`));
  // It is not forgotten much earlier either: some node had a fresh copy when it died.
  assert.ok(took > maxAge - 10, at(`forgotten already after ${took} intervals`));
});

void test('a partition longer than maxAge splits the views; after healing they merge again', () => {
  const n = 32;
  const maxAge = 60;
  const sim = new GossipSim({
    nodes: n,
    window: { kind: 'fixed', size: 8 },
    seed: SEED,
    maxAgeMs: maxAge * 1000,
    anyNodeProbability: 0.05,
  });
  sim.runIntervals(200);
  assert.ok(allKnowAll(sim), at('not converged before the partition'));
  const side = (i: number): number => (i < n / 2 ? 0 : 1);
  sim.partition(side);
  sim.runIntervals(maxAge + 5);
  let sameSideKnown = 0;
  let sameSidePairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const knows = sim.nodes[i]!.knows(j, sim.now);
      if (side(i) !== side(j)) {
        assert.equal(knows, false, at(`node ${i} still knows ${j} across the partition`));
      } else {
        sameSidePairs++;
        if (knows) sameSideKnown++;
      }
    }
  }
  // Half of all sends are lost across the partition, so a rare same-side entry can age out.
  assert.ok(
    sameSideKnown >= 0.95 * sameSidePairs,
    at(`same side ${sameSideKnown}/${sameSidePairs}`),
  );
  sim.heal();
  const took = waitFor(sim, () => allKnowAll(sim), 200, 1);
  assert.ok(took !== undefined, at('views did not merge within 200 intervals of healing'));
});

void test('a new node joins through one seed and becomes known to all (and knows all)', () => {
  const n = 64;
  const sim = new GossipSim({ nodes: n, window: { kind: 'fixed', size: 16 }, seed: SEED });
  sim.runIntervals(8 * fixedWindowFormulas(n, 16).maxAge);
  const join = measureJoin(sim, 200);
  assert.ok(join.all !== undefined, at('new node not known to all within 200 intervals'));
  assert.ok(join.half! <= join.most! && join.most! <= join.all);
  const knowsAll = waitFor(sim, () => sim.nodes[join.index]!.ageSummary(sim.now).known === n, 200);
  assert.ok(knowsAll !== undefined, at('the new node did not learn every member'));
});

void test('same seed, same run; different seed, different run', () => {
  const run = (seed: number): string => {
    const sim = new GossipSim({ nodes: 40, window: { kind: 'fixed', size: 8 }, seed });
    sim.runIntervals(100);
    const m = measureAges(sim, 20, 4);
    return JSON.stringify([sim.network.stats, m]);
  };
  assert.equal(run(SEED), run(SEED));
  assert.notEqual(run(SEED), run(SEED + 1));
});

void test('through the codec, with latency, loss and two clusters, the cluster still converges', () => {
  const sim = new GossipSim({
    nodes: 40,
    window: { kind: 'fixed', size: 8 },
    seed: SEED,
    clusters: 2,
    useCodec: true,
    transitEstimateMs: 25,
    network: { latencyMinMs: 5, latencyMaxMs: 50, lossRate: 0.1 },
  });
  const took = waitFor(sim, () => allKnowAll(sim), 600, 1);
  assert.ok(took !== undefined, at('no convergence through a lossy network'));
  assert.ok(sim.network.stats.lost > 0);
  // Targets stay mostly within the own cluster (ownClusterProbability 0.9 by default).
  assert.equal(sim.nodes[0]!.get(1, sim.now)?.cluster, 'c1');
  assert.equal(simAddress(3), 'n3');
});
