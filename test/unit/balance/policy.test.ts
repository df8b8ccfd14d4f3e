import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GB, nodeView } from '../../helpers/node-view.js';
import { seededRandom } from '../../../src/core/random.js';
import { lnCostBase, logAdd, logMarginal } from '../../../src/balance/opportunity-cost.js';
import { DEFAULT_BALANCE_SETTINGS, chooseStart, decideMoves } from '../../../src/balance/policy.js';
import type { BalanceInput, NodeView, ProcessProfile } from '../../../src/balance/policy.js';

const MB = 2 ** 20;
const NOW = 100_000;

const node = nodeView;

function job(id: number, where: string, over: Partial<ProcessProfile> = {}): ProcessProfile {
  return {
    id,
    where,
    memoryBytes: 64 * MB,
    cpuShare: 0.5,
    workDoneSec: 30,
    syscallsPerSec: 0,
    ioBytesPerSec: 0,
    residentSinceMs: 0,
    movable: true,
    ...over,
  };
}

function decide(
  nodes: NodeView[],
  processes: ProcessProfile[],
  over: Partial<BalanceInput> = {},
  seed = 1,
) {
  return decideMoves({
    nowMs: NOW,
    nodes,
    processes,
    settings: { ...DEFAULT_BALANCE_SETTINGS, home: 'home' },
    random: seededRandom(seed),
    ...over,
  });
}

describe('opportunity cost in logarithms', () => {
  it('matches the direct formula where it does not overflow', () => {
    const lnBase = lnCostBase(4);
    const direct = Math.log(8 ** 3 - 8 ** 2);
    assert.ok(Math.abs(logMarginal(2, 3, lnBase) - direct) < 1e-9);
    assert.ok(Math.abs(logAdd(Math.log(3), Math.log(5)) - Math.log(8)) < 1e-12);
  });

  it('stays finite and ordered far beyond where exponentials overflow', () => {
    const lnBase = lnCostBase(10_000);
    const a = logMarginal(500, 501, lnBase);
    const b = logMarginal(600, 601, lnBase);
    assert.ok(Number.isFinite(a) && Number.isFinite(b) && b > a);
  });
});

describe('decideMoves', () => {
  it('keeps every process home while the home is under its load threshold', () => {
    const moves = decide([node('home', 1), node('a', 0), node('b', 0)], [job(1, 'home')]);
    assert.deepEqual(moves, []);
  });

  it('a calm home sends its process only to a node faster by the stability factor', () => {
    const home = node('home', 1, { speed: 5000 });
    const lone = [job(1, 'home', { cpuShare: 1 })];
    // Idle, four CPUs and 1.2 × faster: the process would finish sooner there by more than
    // minGain, but a home under its threshold keeps it.
    const wide = node('a', 0, { speed: 6000, cpus: 4 });
    assert.deepEqual(decide([home, wide], lone), []);
    const moves = decide([home, wide, node('b', 0, { speed: 20_000 })], lone);
    assert.deepEqual(
      moves.map((m) => [m.id, m.to, m.reason]),
      [[1, 'b', 'speed']],
    );
  });

  it('spreads an overloaded home over idle nodes, one process each', () => {
    const procs = [1, 2, 3, 4].map((id) => job(id, 'home'));
    const moves = decide([node('home', 4), node('a', 0), node('b', 0), node('c', 0)], procs);
    assert.equal(moves.length, 3);
    assert.deepEqual(moves.map((m) => m.to).sort(), ['a', 'b', 'c']);
    assert.ok(moves.every((m) => m.from === 'home' && m.reason === 'load'));
    assert.ok(moves.every((m) => m.expectedThereSec < m.expectedHereSec));
  });

  it('leaves a balanced cluster alone (no ping-pong)', () => {
    const procs = [job(1, 'home'), job(2, 'home'), job(3, 'a'), job(4, 'a')];
    assert.deepEqual(decide([node('home', 2), node('a', 2)], procs), []);
  });

  it("moves by MOSIX's additive stability rule: 6 against 4 moves one, 5 against 4 stays", () => {
    const home6 = Array.from({ length: 6 }, (_, i) => job(i + 1, 'home', { cpuShare: 1 / 6 }));
    const six = decide([node('home', 6), node('a', 4)], home6);
    assert.equal(six.length, 1);
    assert.equal(six[0]!.to, 'a');
    const home5 = home6.slice(0, 5).map((p) => ({ ...p, cpuShare: 1 / 5 }));
    assert.deepEqual(decide([node('home', 5), node('a', 4)], home5), []);
  });

  it('does not move a process before its minimum residency', () => {
    const procs = [1, 2, 3].map((id) => job(id, 'home', { residentSinceMs: NOW - 1000 }));
    assert.deepEqual(decide([node('home', 3), node('a', 0)], procs), []);
  });

  it('lets a program that never moved go at once, and one that moved k times wait 2^(k−1)×', () => {
    const fresh = [1, 2].map((id) => job(id, 'home', { residentSinceMs: NOW - 10, migrations: 0 }));
    assert.equal(decide([node('home', 2), node('a', 0)], fresh).length, 1);
    const wanderer = (ms: number) => [
      job(1, 'a', { residentSinceMs: NOW - ms, migrations: 3 }),
      job(2, 'a', { residentSinceMs: NOW - ms, migrations: 3 }),
    ];
    const nodes = [node('home', 0, { accepting: true }), node('a', 2), node('b', 0)];
    // 3 moves: 4 × 3 s = 12 s before it moves again.
    assert.deepEqual(decide(nodes, wanderer(11_000)), []);
    assert.equal(decide(nodes, wanderer(12_000)).length, 1);
  });

  it('does not send a process straight back to the node it came from', () => {
    const back = (ms: number) =>
      decide(
        [node('home', 0), node('a', 3)],
        [job(1, 'a', { cameFrom: 'home', migrations: 1, residentSinceMs: NOW - ms })],
      );
    assert.deepEqual(back(5000), []);
    assert.deepEqual(
      back(DEFAULT_BALANCE_SETTINGS.noReturnMs).map((m) => m.to),
      ['home'],
    );
  });

  it('lets a process that now waits on home more than it computes come home before that', () => {
    const readingHome = (syscallsPerSec: number, residentMs = 5000, migrations = 1) =>
      decide(
        [node('home', 0), node('a', 1), node('b', 0)],
        [
          job(1, 'a', {
            cameFrom: 'home',
            migrations,
            residentSinceMs: NOW - residentMs,
            cpuShare: 0.3,
            syscallsPerSec,
          }),
        ],
      );
    // 3000 calls/s × 100 µs per CPU-second of 0.3: 1 s of waiting per second of CPU.
    assert.deepEqual(
      readingHome(3000).map((m) => [m.to, m.reason]),
      [['home', 'home']],
    );
    // Waiting less than it computes: the no-return rule holds, whatever it would gain.
    assert.deepEqual(readingHome(2900), []);
  });

  it('charges a measured call at most 10 round trips: a starved CPU-bound process is not one waiting on home', () => {
    const starved = (syscallsPerSec: number) =>
      decide(
        [node('home', 0), node('a', 6)],
        [
          job(1, 'a', {
            cameFrom: 'home',
            migrations: 1,
            residentSinceMs: NOW - 5000,
            cpuShare: 0.08,
            syscallsPerSec,
            // Its few calls wait out the quota's throttling of its runner: 0.1 s a second.
            homeWaitShare: 0.1,
          }),
        ],
      );
    // 2 calls a second: charged 2 ms, not 100 — it stays until the no-return time is over.
    assert.deepEqual(starved(2), []);
    // 100 calls a second may wait that long on home: it comes home at once.
    assert.deepEqual(
      starved(100).map((m) => [m.to, m.reason]),
      [['home', 'home']],
    );
  });

  it('never sends a process to a node without the free memory it needs', () => {
    const procs = [1, 2, 3].map((id) => job(id, 'home', { memoryBytes: 2 * GB }));
    const moves = decide(
      [node('home', 3), node('a', 0, { freeMemBytes: 3 * GB }), node('b', 2)],
      procs,
    );
    assert.ok(moves.every((m) => m.to !== 'a'));
  });

  it('ushers memory: a node under its floor gives up the smallest process that relieves it', () => {
    const procs = [
      job(1, 'home', { memoryBytes: 3 * GB }),
      job(2, 'home', { memoryBytes: 1 * GB }),
      job(3, 'home', { memoryBytes: 200 * MB }),
    ];
    const moves = decide(
      [node('home', 1, { freeMemBytes: 0.8 * GB }), node('a', 0, { freeMemBytes: 12 * GB })],
      procs,
    );
    assert.deepEqual(
      moves.map((m) => [m.id, m.to, m.reason]),
      [[2, 'a', 'memory']],
    );
  });

  it('moves a process from a slow node to a faster idle one', () => {
    const moves = decide(
      [node('home', 0), node('slow', 1, { speed: 3000 }), node('fast', 0, { speed: 20_000 })],
      [job(1, 'slow')],
    );
    assert.equal(moves.length, 1);
    assert.equal(moves[0]!.to, 'fast');
    assert.equal(moves[0]!.reason, 'speed');
  });

  it('brings a process home when home is idle and faster', () => {
    const moves = decide([node('home', 0, { speed: 20_000 }), node('a', 2)], [job(1, 'a')]);
    assert.deepEqual(
      moves.map((m) => [m.to, m.reason]),
      [['home', 'home']],
    );
  });

  it('keeps an I/O-heavy process home and sends the CPU-heavy one', () => {
    const procs = [job(1, 'home', { syscallsPerSec: 20_000, ioBytesPerSec: 80e6 }), job(2, 'home')];
    const moves = decide([node('home', 2), node('a', 0)], procs);
    assert.deepEqual(
      moves.map((m) => m.id),
      [2],
    );
  });

  it('charges a move by the link measured to its target, else by the configured rate', () => {
    // ~70 s of work at a home twice loaded: 1 GiB takes 11 s at the default 100 MB/s (worth it),
    // 86 s at 12.5 MB/s (a 100 Mbit line: not worth it).
    const procs = [1, 2].map((id) => job(id, 'home', { memoryBytes: 1 << 30, workDoneSec: 70 }));
    const idle = [node('home', 2), node('a', 0), node('b', 0)];
    // Without the gain rule (its own test below): this is the cost alone.
    const settings = { ...DEFAULT_BALANCE_SETTINGS, home: 'home', moveGainFactor: 0 };
    const slowTo = (slow: string[]) => ({
      ...settings,
      measuredLinkBytesPerSec: (n: string) => (slow.includes(n) ? 12.5e6 : undefined),
    });
    const targets = (over: Partial<BalanceInput>, seed = 1) =>
      decide(idle, procs, over, seed).map((m) => m.to);
    for (let seed = 1; seed <= 8; seed++) {
      assert.deepEqual(targets({ settings: slowTo(['a']) }, seed), ['b'], `seed ${seed}`);
    }
    assert.deepEqual(targets({ settings: slowTo(['a', 'b']) }), []);
    assert.deepEqual(targets({ settings: { ...settings, linkBytesPerSec: 12.5e6 } }), []);
    // Measured fast beats the configured slow rate.
    const fast = { ...settings, linkBytesPerSec: 12.5e6, measuredLinkBytesPerSec: () => 1e9 };
    assert.equal(targets({ settings: fast }).length, 1);
  });

  it('charges a move between two other nodes by the slower of their links (it goes through home)', () => {
    // The process at a (busy) could go to idle b (home is not in this view); the image crosses
    // a's link, then b's: 40 s of work for 120 s there, and 11 s or 86 s to move.
    const nodes = [node('a', 3), node('b', 0)];
    const p = [job(1, 'a', { memoryBytes: 1 << 30, workDoneSec: 40, cpuShare: 1 / 3 })];
    const settings = { ...DEFAULT_BALANCE_SETTINGS, home: 'home', moveGainFactor: 0 };
    const slow = (n: string) => ({
      ...settings,
      measuredLinkBytesPerSec: (m: string) => (m === n ? 12.5e6 : undefined),
    });
    assert.deepEqual(
      decide(nodes, p, { settings }).map((m) => m.to),
      ['b'],
    );
    assert.deepEqual(decide(nodes, p, { settings: slow('a') }), []);
    assert.deepEqual(decide(nodes, p, { settings: slow('b') }), []);
  });

  it('moves a process for load only when it gains four times its time on the link', () => {
    // 512 MiB over 100 MB/s: 5.4 s on the link, so a move must save 21.5 s. Twice loaded at home,
    // a process runs its expected work (its age) twice as fast on an idle node: at 20 s it saves
    // 20 s (enough for the margins alone: 26 + 5.4 s there against 40 s here), at 30 s, 30 s.
    const nodes = [node('home', 2), node('a', 0)];
    const big = (workDoneSec: number, where = 'home') =>
      job(1, where, { memoryBytes: 512 * MB, workDoneSec, cpuShare: 0.5 });
    assert.deepEqual(decide(nodes, [big(20)]), []);
    const without = { ...DEFAULT_BALANCE_SETTINGS, home: 'home', moveGainFactor: 0 };
    assert.deepEqual(
      decide(nodes, [big(20)], { settings: without }).map((m) => m.to),
      ['a'],
    );
    assert.deepEqual(
      decide(nodes, [big(30)]).map((m) => m.to),
      ['a'],
    );
    // The more crowded its node, the younger a process is worth moving: at 8 s, four times
    // loaded, it saves 24 s.
    assert.deepEqual(
      decide([node('home', 4), node('a', 0)], [big(8)]).map((m) => m.to),
      ['a'],
    );
    // Coming home is not held back: away on a node three times loaded, home idle, it saves 16 s.
    const away = decide([node('home', 0), node('a', 3)], [big(8, 'a')]);
    assert.deepEqual(
      away.map((m) => [m.to, m.reason]),
      [['home', 'home']],
    );
  });

  it('leaves a waiting (idle) process and a -L process where they are', () => {
    const procs = [job(1, 'home', { cpuShare: 0 }), job(2, 'home', { movable: false })];
    assert.deepEqual(decide([node('home', 2), node('a', 0)], procs), []);
  });

  it('counts moves gossip does not show yet', () => {
    const procs = [1, 2].map((id) => job(id, 'home'));
    const pending = [
      { from: 'x', to: 'a', memoryBytes: 0 },
      { from: 'x', to: 'a', memoryBytes: 0 },
    ];
    const moves = decide([node('home', 2), node('a', 0), node('b', 1)], procs, { pending });
    assert.ok(moves.every((m) => m.to !== 'a'));
  });

  it('chooses at random among near-best targets, reproducibly per seed', () => {
    const nodes = [node('home', 3), ...'abcdefgh'.split('').map((n) => node(n, 0))];
    const procs = [job(1, 'home')];
    const chosen = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) chosen.add(decide(nodes, procs, {}, seed)[0]!.to);
    assert.ok(chosen.size > 3, `only ${[...chosen].join(',')}`);
    assert.deepEqual(decide(nodes, procs, {}, 7), decide(nodes, procs, {}, 7));
  });

  it('makes at most maxMovesPerRound moves', () => {
    const procs = Array.from({ length: 20 }, (_, i) => job(i + 1, 'home'));
    const nodes = [node('home', 20), ...Array.from({ length: 10 }, (_, i) => node(`n${i}`, 0))];
    assert.equal(decide(nodes, procs).length, DEFAULT_BALANCE_SETTINGS.maxMovesPerRound);
  });
});

describe('chooseStart (osmo run -b)', () => {
  const start = (nodes: NodeView[], memoryBytes = 0, pending: BalanceInput['pending'] = []) =>
    chooseStart({
      nodes,
      pending,
      memoryBytes,
      settings: { ...DEFAULT_BALANCE_SETTINGS, home: 'home' },
      random: seededRandom(1),
    });

  it('starts at home when home is free, elsewhere when another node is better', () => {
    assert.equal(start([node('home', 0), node('a', 0)]), 'home');
    assert.equal(start([node('home', 2), node('a', 0)]), 'a');
    assert.equal(
      start([node('home', 0, { speed: 5000 }), node('fast', 0, { speed: 20_000 })]),
      'fast',
    );
  });

  it('counts its own recent choices, and needs room for the memory asked for', () => {
    const toA = { from: 'home', to: 'a', memoryBytes: 0 };
    assert.equal(start([node('home', 2), node('a', 0), node('b', 1)]), 'a');
    assert.equal(start([node('home', 2), node('a', 0), node('b', 1)], 0, [toA, toA]), 'b');
    assert.equal(start([node('home', 2), node('a', 0, { freeMemBytes: GB })], 2 * GB), 'home');
  });

  it('charges a start no image: a program asking for 4 GiB starts where it runs soonest', () => {
    // Its memory is made where it starts; at 100 MB/s, 4 GiB would have looked like 43 s.
    assert.equal(start([node('home', 1), node('a', 0)], 4 * GB), 'a');
    // a: 8 of 16 GiB free, its floor 1.6 GiB: no room for 6.5 GiB.
    assert.equal(start([node('home', 1), node('a', 0)], 6.5 * GB), 'home');
  });

  it('charges a program expelled from a node its image from there, by the links measured', () => {
    // From x (its own link unmeasured: 100 MB/s) 1 GiB takes 11 s to b, 86 s to a (12.5 MB/s).
    const settings = {
      ...DEFAULT_BALANCE_SETTINGS,
      home: 'home',
      measuredLinkBytesPerSec: (n: string) => (n === 'a' ? 12.5e6 : undefined),
    };
    for (let seed = 1; seed <= 8; seed++) {
      const to = chooseStart({
        nodes: [node('home', 3), node('a', 0), node('b', 0)],
        memoryBytes: GB,
        leaving: 'x',
        settings,
        random: seededRandom(seed),
      });
      assert.equal(to, 'b', `seed ${seed}`);
    }
  });
});
