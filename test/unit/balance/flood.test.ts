import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideFlood } from '../../../src/balance/flood.js';
import type { FloodProgram } from '../../../src/balance/flood.js';

const running = (id: number, sinceMs: number, freezable = true): FloodProgram => ({
  id,
  runningHere: true,
  frozenByFlood: false,
  freezable,
  sinceMs,
});
const frozen = (id: number, sinceMs: number): FloodProgram => ({
  id,
  runningHere: false,
  frozenByFlood: true,
  freezable: false,
  sinceMs,
});
const away = (id: number): FloodProgram => ({
  id,
  runningHere: false,
  frozenByFlood: false,
  freezable: false,
  sinceMs: 0,
});

describe('flood control', () => {
  it('freezes the newest arrivals beyond the limit, never one that cannot be frozen', () => {
    const programs = [
      running(1, 0),
      running(2, 10),
      running(3, 20, false),
      running(4, 30),
      away(5),
    ];
    assert.deepEqual(decideFlood({ programs, limit: 2, turnMs: 0, nowMs: 40 }), {
      freeze: [4, 2],
      resume: [],
    });
  });

  it('continues the longest waiting as places free up', () => {
    const programs = [running(1, 0), frozen(2, 30), frozen(3, 10), frozen(4, 20), away(5)];
    assert.deepEqual(decideFlood({ programs, limit: 3, turnMs: 0, nowMs: 40 }), {
      freeze: [],
      resume: [3, 4],
    });
  });

  it('takes turns: one waiting a turn trades places with one that ran a turn', () => {
    const programs = [running(1, 0), running(2, 500), frozen(3, 100), frozen(4, 900)];
    // At 1000 with turns of 800: 3 waited 900 (due), 4 only 100; 1 ran 1000 (due), 2 only 500.
    assert.deepEqual(decideFlood({ programs, limit: 2, turnMs: 800, nowMs: 1000 }), {
      freeze: [1],
      resume: [3],
    });
    // Before anyone's turn: nothing changes.
    assert.deepEqual(decideFlood({ programs, limit: 2, turnMs: 800, nowMs: 600 }), {
      freeze: [],
      resume: [],
    });
  });

  it('continues everything it froze when the limit is lifted', () => {
    const programs = [running(1, 0), frozen(2, 5), frozen(3, 1)];
    assert.deepEqual(decideFlood({ programs, limit: 0, turnMs: 100, nowMs: 10 }), {
      freeze: [],
      resume: [3, 2],
    });
  });

  it('is steady at the limit with nobody waiting', () => {
    const programs = [running(1, 0), running(2, 0), away(3)];
    assert.deepEqual(decideFlood({ programs, limit: 2, turnMs: 1, nowMs: 1e9 }), {
      freeze: [],
      resume: [],
    });
  });
});
