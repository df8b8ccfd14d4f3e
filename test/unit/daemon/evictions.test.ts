import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Evictions } from '../../../src/daemon/evictions.js';
import type { EvictionsOptions } from '../../../src/daemon/evictions.js';
import type { GuestOf } from '../../../src/daemon/runner-pool.js';
import { Logger } from '../../../src/platform/logger.js';

/** A node n3 of cluster lab with `guests`; homes answer `expel` from `answers` (or fail). */
function evictions(
  guests: GuestOf[],
  over: Partial<EvictionsOptions> = {},
): { e: Evictions; asked: string[]; release: () => void } {
  const clusters: Record<string, string> = { n1: 'partner', n2: 'lab', n4: 'cloud' };
  const asked: string[] = [];
  let release: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (release = resolve));
  const e = new Evictions({
    node: 'n3',
    cluster: 'lab',
    priorities: { partner: 1, cloud: 2 },
    log: new Logger({ write: () => undefined }, 'error', {}),
    guests: () => guests,
    clusterOf: (node) => clusters[node],
    ownProgramsHere: () => 0,
    askHome: async (home, args) => {
      asked.push(`${home}:${args.pid}:${args.reason}`);
      await answered;
      if (home === 'n4') throw new Error('node n4 did not answer');
      return { to: home };
    },
    ...over,
  });
  return { e, asked, release };
}

describe('evictions', () => {
  it('gives admission the worst guest rank, and the best rank here when clusters are ranked', () => {
    const guests = [
      { home: 'n1', pid: 1 },
      { home: 'n4', pid: 2 },
    ];
    assert.deepEqual(evictions(guests).e.admissionRanks(), {
      worstGuestPriority: 2,
      bestPriorityHere: 1,
    });
    const own = evictions(guests, { ownProgramsHere: () => 1 });
    assert.deepEqual(own.e.admissionRanks(), { worstGuestPriority: 2, bestPriorityHere: 0 });
    const unranked = evictions(guests, { priorities: {} });
    assert.deepEqual(unranked.e.admissionRanks(), { worstGuestPriority: 0 });
  });

  it('pushes out only worse-ranked guests, asking each home once while it answers', () => {
    const guests = [
      { home: 'n1', pid: 1 },
      { home: 'n4', pid: 2 },
      { home: 'n2', pid: 3 },
    ];
    const { e, asked, release } = evictions(guests);
    e.pushOut(1, 'a partner program moved in');
    e.pushOut(1, 'another one');
    assert.deepEqual(asked, ['n4:2:pushed out']);
    e.pushOut(0, 'a lab program moved in');
    assert.deepEqual(asked, ['n4:2:pushed out', 'n1:1:pushed out']);
    release();
  });

  it('reports where each expelled guest goes, or why its home could not be asked', async () => {
    const { e, release } = evictions([]);
    release();
    assert.deepEqual(
      await e.expel(
        [
          { home: 'n1', pid: 1 },
          { home: 'n4', pid: 2 },
        ],
        'expelled',
      ),
      [
        { home: 'n1', pid: 1, to: 'n1' },
        { home: 'n4', pid: 2, error: 'node n4 did not answer' },
      ],
    );
  });

  it('never asks to move a native program: expel names it at once, and it is not pushed out', async () => {
    const guests: GuestOf[] = [
      { home: 'n4', pid: 5, native: true },
      { home: 'n1', pid: 6 },
    ];
    const { e, asked, release } = evictions(guests, { ownProgramsHere: () => 1 });
    release();
    assert.deepEqual(await e.expel(guests, 'expelled'), [
      {
        home: 'n4',
        pid: 5,
        error: 'a native program: it never moves, and leaves this node when it ends',
      },
      { home: 'n1', pid: 6, to: 'n1' },
    ]);
    assert.deepEqual(asked, ['n1:6:expelled']);
    e.pushOutForOwnPrograms();
    assert.deepEqual(asked, ['n1:6:expelled', 'n1:6:pushed out'], 'the native one is left alone');
  });

  it('lets the own programs push out every other cluster, only when clusters are ranked', () => {
    const guests = [{ home: 'n1', pid: 1 }];
    const ranked = evictions(guests, { ownProgramsHere: () => 2 });
    ranked.e.pushOutForOwnPrograms();
    assert.deepEqual(ranked.asked, ['n1:1:pushed out']);
    const unranked = evictions(guests, { ownProgramsHere: () => 2, priorities: {} });
    unranked.e.pushOutForOwnPrograms();
    assert.deepEqual(unranked.asked, []);
  });
});
