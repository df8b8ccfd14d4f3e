import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runBalanceExperiment } from '../../src/sim/balance-report.js';
import { scenarioNamed } from '../../src/sim/balance-scenarios.js';
import { simulatePolicy } from '../../src/sim/balance-sim.js';
import type { PolicyName, PolicyRun } from '../../src/sim/balance-sim.js';
import {
  DEFAULT_BALANCE_SIM_OPTIONS,
  makeWorkload,
  workloadFrom,
} from '../../src/sim/balance-workload.js';
import type {
  BalanceSimOptions,
  JobSpec,
  NodeSpec,
  Workload,
} from '../../src/sim/balance-workload.js';

/** Seed for the generated workloads here; BALANCE_SEED=… replays a failure. */
const SEED = Number(process.env.BALANCE_SEED ?? 1);
const at = (what: string): string => `${what} (seed=${SEED}; replay with BALANCE_SEED=${SEED})`;

const MIB = 2 ** 20;
const options = (o: Partial<BalanceSimOptions>): BalanceSimOptions => ({
  ...DEFAULT_BALANCE_SIM_OPTIONS,
  seed: SEED,
  ...o,
});
const node = (i: number, speed = 10_000, cpus = 1, memoryMb = 4096): NodeSpec => ({
  name: `n${i}`,
  cpus,
  speed,
  memBytes: memoryMb * MIB,
});
const job = (id: number, home: number, workSec: number, extra: Partial<JobSpec> = {}): JobSpec => ({
  id,
  home,
  workSec,
  memBytes: 64 * MIB,
  arrivalMs: 0,
  syscallsPerWorkSec: 0,
  ...extra,
});
const run = (w: Workload, policy: PolicyName, o: Partial<BalanceSimOptions> = {}): PolicyRun =>
  simulatePolicy(w, options(o), policy);
const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);

void test('the same seed gives the same report, field for field', () => {
  const o = options({ nodes: 12, jobs: 96, homes: 3, speeds: 'mixed', arrivalWindowSec: 60 });
  const a = runBalanceExperiment(o, () => 0);
  const b = runBalanceExperiment(o, () => 0);
  assert.deepEqual(a, b);
  const c = runBalanceExperiment({ ...o, seed: SEED + 1 }, () => 0);
  assert.notDeepEqual(c.workload, a.workload, 'another seed draws other jobs');
});

void test('processor sharing, hand-computed on two nodes', () => {
  // n0: 1 CPU at the reference speed; n1: 2 CPUs at twice it. No job moves.
  const w = workloadFrom(
    [node(0), node(1, 20_000, 2)],
    [
      job(0, 0, 10),
      job(1, 0, 30),
      job(2, 1, 40),
      job(3, 1, 40),
      job(4, 1, 40),
      job(5, 1, 10, { arrivalMs: 10_000 }),
    ],
  );
  const r = run(w, 'no-migration');
  const done = r.jobs.map((j) => j.completionSec);
  // n0: both at 1/2 until the 10 s job ends at 20 s (the other has 10 of 30 done), then 20 s alone.
  close(done[0]!, 20, 'short job on n0');
  close(done[1]!, 40, 'long job on n0');
  // n1: three jobs get 2 × 2/3 = 4/3 each: 13⅓ done at 10 s; four get 2 × 2/4 = 1 each until
  // the newcomer's 10 s are done at 20 s (23⅓ each); three at 4/3 finish the last 16⅔ in 12.5 s.
  close(done[5]!, 20, 'late job on n1');
  for (const i of [2, 3, 4]) close(done[i]!, 32.5, `job ${i} on n1`);
  close(r.outcome.makespanSec, 40, 'makespan');
  // Slowdown = time in system / (work at the fastest speed, 2): (4 + 8/3 + 3 × 1.625 + 2) / 6.
  close(r.outcome.meanSlowdown, (4 + 8 / 3 + 3 * 1.625 + 2) / 6, 'mean slowdown');
  // Ideal: max(Σwork 170 / capacity 5, longest 40 / 2, 10 s + 10 / 5) = 34.
  close(w.idealSec, 34, 'ideal makespan');
});

void test('an I/O job away from home runs at 1 / (1 + calls × round trip) of its share', () => {
  // Round-robin from home n0: the first job stays, the second (20 000 calls per work-second,
  // 100 µs each away from home) goes to n1 and takes 10 × (1 + 2) s.
  const w = workloadFrom(
    [node(0), node(1)],
    [job(0, 0, 10), job(1, 0, 10, { syscallsPerWorkSec: 20_000 })],
  );
  const r = run(w, 'round-robin');
  close(r.jobs[0]!.completionSec, 10, 'CPU job at home');
  close(r.jobs[1]!.completionSec, 30, 'I/O job away');
  assert.equal(r.jobs[1]!.lastNode, 1);
});

void test('16 jobs at one home of 4 equal nodes: Osmosis spreads them, near the ideal', () => {
  // Near-equal work (α = 50) so that the ideal is a fair target: 4 jobs per node.
  const o = options({ nodes: 4, jobs: 16, homes: 1, paretoAlpha: 50 });
  const w = makeWorkload(o);
  const result = run(w, 'osmosis', o);
  const osmosis = result.outcome;
  const stay = run(w, 'no-migration', o).outcome;
  assert.ok(
    osmosis.makespanSec <= 1.1 * w.idealSec,
    at(`makespan ${osmosis.makespanSec} vs ideal ${w.idealSec}`),
  );
  assert.ok(stay.makespanSec >= 3.9 * w.idealSec, at(`no-migration ${stay.makespanSec}`));
  // Placed at start (osmo run -b) or moved later: 12 of them end away from home.
  const away = result.jobs.filter((j) => j.lastNode !== 0).length;
  assert.ok(away >= 12, at(`only ${away} jobs away from home`));
  assert.ok(osmosis.meanSlowdown < stay.meanSlowdown / 3, at('slowdown'));
});

// Two jobs leave the home 296 MB free of 4096 (the floor is 10 %, 410 MB); moving either fixes it.
// The other nodes are half as fast: the second job would finish no sooner there, so it starts at
// home too (osmo run -b) and no load move follows — only the memory floor moves one.
const memoryBound = (): Workload =>
  workloadFrom(
    [node(0), node(1, 5000), node(2, 5000), node(3, 5000)],
    [job(0, 0, 300, { memBytes: 2000 * MIB }), job(1, 0, 300, { memBytes: 1800 * MIB })],
  );

void test('memory ushering moves jobs off a home under its free-memory floor', () => {
  const w = memoryBound();
  const osmosis = run(w, 'osmosis').outcome;
  const stay = run(w, 'no-migration').outcome;
  assert.ok(osmosis.moveReasons.memory >= 1, 'moved for memory');
  assert.equal(osmosis.moveReasons.load, 0, 'and for nothing else');
  assert.ok(
    stay.memLowNodeSec > 590,
    `no-migration is short of memory throughout: ${stay.memLowNodeSec}`,
  );
  // Under the floor only until a job has left: a round or two, then an image on the link.
  assert.ok(osmosis.memLowNodeSec < 25, `osmosis short of memory for ${osmosis.memLowNodeSec} s`);
});

void test('memory ushering moves one job when one is enough', () => {
  // The first image (1800 MB) is 15 s on the link: the home must not usher the second meanwhile.
  const osmosis = run(memoryBound(), 'osmosis').outcome;
  assert.equal(osmosis.moveReasons.memory, 1);
  // The other move, if any: back to the home, twice as fast, once its job there is done.
  assert.equal(osmosis.migrations - osmosis.moveReasons.memory, osmosis.moveReasons.home);
  assert.ok(osmosis.moveReasons.home <= 1);
});

void test('I/O-heavy jobs end at home while CPU-bound ones leave', () => {
  // 100 000 calls per work-second cost 10 s per work-second away from home: not worth moving.
  const io = { syscallsPerWorkSec: 100_000 };
  const w = workloadFrom(
    [node(0), node(1), node(2), node(3)],
    [
      job(0, 0, 60),
      job(1, 0, 60, io),
      job(2, 0, 60),
      job(3, 0, 60, io),
      job(4, 0, 60),
      job(5, 0, 60),
    ],
  );
  const r = run(w, 'osmosis');
  // osmo run -b cannot know a new program does I/O: at most it starts away and comes back.
  assert.ok(r.outcome.ioJobMigrations <= 2, `I/O jobs moved ${r.outcome.ioJobMigrations} times`);
  assert.equal(r.jobs[1]!.lastNode, 0);
  assert.equal(r.jobs[3]!.lastNode, 0);
  assert.ok(r.outcome.migrations >= 3, `CPU jobs moved ${r.outcome.migrations} times`);
  assert.ok(
    [0, 2, 4, 5].some((i) => r.jobs[i]!.lastNode !== 0),
    'some CPU job finished away',
  );
});

void test('no bounces under a light steady load (Poisson arrivals at 30 %, many homes)', () => {
  const o = options({ nodes: 16, jobs: 800, homes: 16, offeredLoad: 0.3 });
  const r = run(makeWorkload(o), 'osmosis', o).outcome;
  assert.ok(r.migrations > 0, at('the policy did act'));
  assert.equal(r.bounces, 0, at(`${r.bounces} bounces in ${r.migrations} moves`));
});

void test('no bounces under the steady-load scenario (70 %, mixed speeds, 32 homes)', () => {
  const o = options(scenarioNamed('steady-load')!.options);
  const r = run(makeWorkload(o), 'osmosis', o).outcome;
  assert.ok(r.migrations > 0, at('the policy did act'));
  assert.equal(r.bounces, 0, at(`${r.bounces} bounces in ${r.migrations} moves`));
});

void test('osmo-sim balance: exit 2 on bad arguments, 3 when --check fails', () => {
  const cli = fileURLToPath(new URL('../../src/sim/cli.js', import.meta.url));
  const sim = (...args: string[]) =>
    spawnSync(process.execPath, [cli, 'balance', ...args], { encoding: 'utf8' });
  const bad = sim('--nodes', '4', '--homes', '9');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /homes must be an integer in \[1, 4\]/);
  // Homes are local: a partner cluster leaves at least them.
  const partners = sim('--nodes', '4', '--homes', '2', '--partner-nodes', '3');
  assert.equal(partners.status, 2, partners.stderr);
  assert.match(partners.stderr, /partnerNodes must be an integer in \[0, 2\]/);
  assert.equal(sim('--scenario', 'nope').status, 2);
  // One job: it runs alone at home under every policy, so Osmosis cannot be strictly better.
  const small = ['--nodes', '2', '--jobs', '1', '--json'];
  const ok = sim(...small);
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { check: { passed: boolean } };
  assert.equal(report.check.passed, false);
  assert.equal(sim(...small, '--check').status, 3);
});

/**
 * A partner cluster (the last 8 of 16 mixed nodes) behind 100 Mbit; 512 MB jobs arriving at 4
 * local homes at 80 % load. (Learning needs moves that land before the next are decided: in a
 * t = 0 batch nearly every move is decided before the first lands.)
 */
const partnerOptions = (measuredLinks: boolean) =>
  options({
    nodes: 16,
    speeds: 'mixed',
    partnerNodes: 8,
    partnerLinkMbit: 100,
    jobs: 800,
    homes: 4,
    offeredLoad: 0.8,
    jobMemoryMb: 512,
    measuredLinks,
  });

void test('a move runs at the slowest link it crosses: its ends and, between two, its home', () => {
  const o = partnerOptions(true);
  const w = makeWorkload(o);
  const linkOf = (i: number) => ((w.nodes[i]!.linkMbit ?? o.linkMbit) * 1e6) / 8;
  assert.equal(w.nodes.filter((n) => n.linkMbit === 100).length, 8);
  let checked = 0;
  simulatePolicy(w, o, 'osmosis', {
    onMove: (m) => {
      if (m.refused) return;
      const home = w.jobs[m.job]!.home;
      const rate = Math.min(linkOf(m.from), linkOf(m.to), linkOf(home));
      close(m.landSec! - m.atSec, w.jobs[m.job]!.memBytes / rate, `move of job ${m.job}`);
      checked++;
    },
  });
  assert.ok(checked > 20, at(`only ${checked} moves`));
});

void test('homes learn the slow links from their moves and cross them less', () => {
  const slow = (w: Workload, o: BalanceSimOptions) => {
    let crossing = 0;
    simulatePolicy(w, o, 'osmosis', {
      onMove: (m) => {
        if (!m.refused && (w.nodes[m.from]!.linkMbit ?? w.nodes[m.to]!.linkMbit) !== undefined) {
          crossing++;
        }
      },
    });
    return crossing;
  };
  const fixed = partnerOptions(false);
  const w = makeWorkload(fixed);
  const blind = slow(w, fixed);
  const learning = slow(w, partnerOptions(true));
  assert.ok(blind > 0, at('moves cross the slow link at all'));
  // Seeds 1–6: 32–42 % of the crossings.
  assert.ok(learning < blind * 0.6, at(`${learning} moves over the slow link, against ${blind}`));
});

void test("behind a partner cluster's slow line Osmosis beats least-loaded placement", () => {
  // 512 MB jobs at 16 homes, half the 32 nodes behind 100 Mbit. A home charges the partner's
  // line at the daemon's otherClusterLinkMbit until a move measured it, and one move measures
  // it for every node there. Learnt node by node at the LAN's price, each home sent images
  // across it that cost more than they gained: least-loaded was lower on all of seeds 1–8 (1.88
  // against 1.77 on average); now Osmosis is on all of them (1.69).
  for (const seed of [SEED, SEED + 1, SEED + 2]) {
    const o = options({
      nodes: 32,
      speeds: 'mixed',
      partnerNodes: 16,
      jobs: 1000,
      homes: 16,
      offeredLoad: 0.7,
      jobMemoryMb: 512,
      seed,
    });
    const w = makeWorkload(o);
    const osmosis = simulatePolicy(w, o, 'osmosis').outcome.meanSlowdown;
    const leastLoaded = simulatePolicy(w, o, 'least-loaded').outcome.meanSlowdown;
    assert.ok(
      osmosis < leastLoaded,
      `seed ${seed}: mean slowdown ${osmosis.toFixed(3)} against least-loaded's ${leastLoaded.toFixed(3)}`,
    );
  }
});

/** 512 MB jobs arriving at 8 homes of 16 mixed nodes at 70 % load. */
const largeImages = (o: Partial<BalanceSimOptions> = {}): BalanceSimOptions =>
  options({
    nodes: 16,
    speeds: 'mixed',
    jobs: 600,
    homes: 8,
    offeredLoad: 0.7,
    jobMemoryMb: 512,
    ...o,
  });

void test('a job moves for load or speed only when it gains four times its time on the link', () => {
  // Images charged at the daemon's default 100 MB/s (5.4 s a move): every move but home and
  // memory ushering must expect to run 21.5 s sooner.
  const o = largeImages({ measuredLinks: false });
  const w = makeWorkload(o);
  const transitSec = (512 * MIB) / 100e6;
  const smallGains = (moveGainFactor: number) => {
    let small = 0;
    let checked = 0;
    simulatePolicy(w, { ...o, moveGainFactor }, 'osmosis', {
      onMove: (m) => {
        if (m.reason !== 'load' && m.reason !== 'speed') return;
        checked++;
        const gainSec = m.expectedHereSec - (m.expectedThereSec - transitSec);
        if (gainSec < 4 * transitSec - 1e-9) small++;
      },
    });
    assert.ok(checked > 20, at(`only ${checked} moves for load or speed`));
    return small;
  };
  assert.equal(o.moveGainFactor, 4);
  assert.equal(smallGains(4), 0, at('moves that gain less than four times their transit'));
  // Without the rule, dozens of them.
  assert.ok(smallGains(0) > 20, at('without the rule, moves that gain little'));
});

void test('a start its chosen node refuses goes to the next choice, and short jobs gain', () => {
  // Moves leave the gossip views behind the nodes, and starts that trusted the view landed on
  // nodes that had just taken moved jobs.
  const o = largeImages();
  const w = makeWorkload(o);
  assert.equal(o.startConsent, true);
  const asking = simulatePolicy(w, o, 'osmosis').outcome;
  const trusting = simulatePolicy(w, { ...o, startConsent: false }, 'osmosis').outcome;
  // Seeds 1–8: 1.6–5 % lower.
  assert.ok(
    asking.meanSlowdown < trusting.meanSlowdown,
    at(`mean slowdown ${asking.meanSlowdown} with consent, ${trusting.meanSlowdown} without`),
  );
});
