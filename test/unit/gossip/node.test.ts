import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/core/random.js';
import { isOsmoError } from '../../../src/core/errors.js';
import { GossipNode } from '../../../src/gossip/node.js';
import type { GossipConfigInput } from '../../../src/gossip/config.js';
import { YoungestList } from '../../../src/gossip/youngest.js';
import { INFO, SEED, rec, windowOf } from './helpers.js';

function node(extra: Partial<GossipConfigInput> = {}): GossipNode {
  return new GossipNode(
    { id: 0, cluster: 'a', address: 'n0', info: INFO, maxAgeMs: 60_000, ...extra },
    seededRandom(SEED),
  );
}

void test('an entry is kept only if newer, and ages grow with time without any tick', () => {
  const g = node();
  g.receive(
    'n1',
    windowOf([
      [1, 0],
      [2, 5_000],
    ]),
    10_000,
  );
  assert.equal(g.get(2, 10_000)?.ageMs, 5_000);
  assert.equal(g.get(2, 13_000)?.ageMs, 8_000, 'age = now − (learned − age at learning)');
  g.receive(
    'n3',
    windowOf([
      [3, 0],
      [2, 9_000],
    ]),
    13_000,
  );
  assert.equal(g.get(2, 13_000)?.ageMs, 8_000, 'older copy ignored');
  g.receive(
    'n3',
    windowOf([
      [3, 0],
      [2, 1_000],
    ]),
    13_000,
  );
  assert.equal(g.get(2, 13_000)?.ageMs, 1_000, 'newer copy accepted');
  assert.equal(g.stats.entriesStale, 2, 'the old copy of 2 and the same-age copy of 3');
});

void test('entries from the future (negative or NaN ages) are dropped and counted', () => {
  const g = node();
  g.receive(
    'n1',
    windowOf([
      [1, 0],
      [2, -1],
      [3, Number.NaN],
      [4, 10],
    ]),
    1_000,
  );
  assert.equal(g.knows(2, 1_000), false);
  assert.equal(g.knows(3, 1_000), false);
  assert.equal(g.knows(4, 1_000), true);
  assert.equal(g.stats.entriesFromFuture, 2);
  // A negative age offset makes every entry of the message come from the future.
  g.receive('n5', { ...windowOf([[5, 0]]), ageOffsetMs: -10 }, 1_000);
  assert.equal(g.knows(5, 1_000), false);
});

void test('the transit estimate and the message age offset are added to received ages', () => {
  const g = node({ transitEstimateMs: 500 });
  g.receive(
    'n1',
    {
      ...windowOf([
        [1, 0],
        [2, 1_000],
      ]),
      ageOffsetMs: 20,
    },
    5_000,
  );
  assert.equal(g.get(1, 5_000)?.ageMs, 520);
  assert.equal(g.get(2, 5_000)?.ageMs, 1_520);
});

void test('entries older than maxAge are refused on arrival and vanish from the view later', () => {
  const g = node({ maxAgeMs: 10_000 });
  g.receive(
    'n1',
    windowOf([
      [1, 0],
      [2, 10_001],
    ]),
    0,
  );
  assert.equal(g.knows(2, 0), false);
  assert.equal(g.stats.entriesExpired, 1);
  assert.equal(g.knows(1, 10_000), true);
  assert.equal(g.knows(1, 10_001), false, 'expired exactly after maxAge');
  assert.deepEqual(
    g.view(10_001).map((e) => e.id),
    [0],
  );
});

void test('claims about ourselves are ignored; our own entry is always age 0', () => {
  const g = node();
  g.receive(
    'n1',
    windowOf([
      [1, 0],
      [0, 3],
    ]),
    100,
  );
  assert.equal(g.stats.entriesAboutSelf, 1);
  assert.equal(g.get(0, 500)?.ageMs, 0);
});

void test('a fixed window carries own entry + the w−1 youngest others', () => {
  const g = node({ window: { kind: 'fixed', size: 3 } });
  g.receive(
    'n1',
    windowOf([
      [1, 0],
      [2, 400],
      [3, 100],
      [4, 300],
      [5, 200],
    ]),
    1_000,
  );
  const [effect] = g.tick(1_000);
  assert.ok(effect);
  assert.deepEqual(
    effect.message.records.map((r) => r.id),
    [0, 1, 3],
  );
  assert.deepEqual([...effect.message.agesMs], [0, 0, 100]);
});

void test('a threshold window carries every entry with age ≤ T', () => {
  const g = node({ window: { kind: 'threshold', thresholdMs: 250, maxEntries: 64 } });
  g.receive(
    'n1',
    windowOf([
      [1, 0],
      [2, 400],
      [3, 100],
      [4, 300],
      [5, 200],
    ]),
    1_000,
  );
  const [effect] = g.tick(1_000);
  assert.deepEqual(
    effect!.message.records.map((r) => r.id),
    [0, 1, 3, 5],
  );
});

void test('a threshold window cut at maxEntries is counted; one that fits is not', () => {
  const entries: [number, number][] = [
    [1, 0],
    [2, 400],
    [3, 100],
    [4, 300],
    [5, 200],
  ];
  // No reply to the newcomer n1: only the tick's window is built.
  const fits = node({
    window: { kind: 'threshold', thresholdMs: 250, maxEntries: 4 },
    replyToNewcomers: false,
  });
  fits.receive('n1', windowOf(entries), 1_000);
  assert.equal(fits.tick(1_000)[0]!.message.records.length, 4);
  assert.equal(fits.stats.windowsCapped, 0, 'entries 2 and 4 are older than T: nothing left out');
  const cut = node({
    window: { kind: 'threshold', thresholdMs: 250, maxEntries: 3 },
    replyToNewcomers: false,
  });
  cut.receive('n1', windowOf(entries), 1_000);
  assert.deepEqual(
    cut.tick(1_000)[0]!.message.records.map((r) => r.id),
    [0, 1, 3],
  );
  assert.equal(cut.stats.windowsCapped, 1, 'entry 5 (age 200 ≤ T) was left out');
});

void test('a lone node with no seeds sends nothing; with a seed it contacts the seed', () => {
  assert.equal(node().tick(0).length, 0);
  const g = node({ seeds: ['n0', 'seed:1'] });
  const effects = g.tick(0);
  assert.equal(effects[0]?.to, 'seed:1', 'own address is not a seed');
});

void test('a window from an unknown sender is answered once (push–pull for joiners)', () => {
  const g = node();
  g.receive('n1', windowOf([[1, 0]]), 0);
  const reply = g.receive('n7', windowOf([[7, 0]]), 0);
  assert.equal(reply.length, 1);
  assert.equal(reply[0]?.to, 'n7');
  assert.equal(g.receive('n7', windowOf([[7, 0]]), 10).length, 0, 'known now: no second reply');
  assert.equal(node({ replyToNewcomers: false }).receive('n7', windowOf([[7, 0]]), 0).length, 0);
});

void test('targets prefer the own cluster with the configured probability', () => {
  const g = new GossipNode(
    {
      id: 0,
      cluster: 'a',
      address: 'n0',
      info: INFO,
      ownClusterProbability: 0.8,
      anyNodeProbability: 0,
    },
    seededRandom(SEED),
  );
  const msg = {
    version: 1,
    ageOffsetMs: 0,
    records: [rec(1, 'a'), rec(2, 'a'), rec(3, 'b'), rec(4, 'b'), rec(5, 'b'), rec(6, 'b')],
    agesMs: [0, 0, 0, 0, 0, 0],
  };
  g.receive('n1', msg, 0);
  let own = 0;
  const rounds = 4000;
  for (let i = 0; i < rounds; i++) {
    const to = g.tick(i)[0]?.to;
    if (to === 'n1' || to === 'n2') own++;
  }
  assert.ok(
    Math.abs(own / rounds - 0.8) < 0.03,
    `own-cluster share ${own / rounds} (seed=${SEED})`,
  );
});

void test('nodes believed dead are still probed with the any-node probability', () => {
  const g = node({ maxAgeMs: 1_000, anyNodeProbability: 0.5 });
  g.receive('n1', windowOf([[1, 0]]), 0);
  g.receive('n2', windowOf([[2, 0]]), 2_000);
  let probes = 0;
  // n1 expired at 1 000, n2 is live: n1 is reached only through the any-node draw (½ · ½).
  for (let t = 2_000; t < 2_400; t++) if (g.tick(t)[0]?.to === 'n1') probes++;
  assert.ok(probes > 60 && probes < 140, `dead node probed ${probes}/400 times (seed=${SEED})`);
});

void test('nodes of the static map not heard from yet keep being probed (no split in pairs)', () => {
  // n0 heard from n1 first; n2 and n3, listed in its map, are known to nobody it talks to.
  const g = node({ seeds: ['n1', 'n2', 'n3'] });
  g.receive('n1', windowOf([[1, 0]]), 0);
  const to = new Map<string, number>();
  for (let t = 1; t <= 40; t++) {
    const target = g.tick(t)[0]?.to ?? '';
    to.set(target, (to.get(target) ?? 0) + 1);
  }
  // With only the 1 % any-node draw, 40 rounds would almost never reach them.
  assert.ok((to.get('n2') ?? 0) >= 3 && (to.get('n3') ?? 0) >= 3, JSON.stringify([...to]));
});

void test('invalid config reports every problem at once', () => {
  assert.throws(
    () => node({ intervalMs: 0, ownClusterProbability: 2, window: { kind: 'fixed', size: 0 } }),
    (e) =>
      isOsmoError(e, 'E_CONFIG') &&
      /intervalMs/.test(e.message) &&
      /ownClusterProbability/.test(e.message) &&
      /window.size/.test(e.message),
  );
});

void test('YoungestList keeps the k youngest under re-offers and expiry', () => {
  const list = new YoungestList<string>(3);
  const random = seededRandom(SEED);
  const births = new Map<number, number>();
  for (let i = 0; i < 2000; i++) {
    const slot = random.int(20);
    const birth = i * 10 + random.int(10); // increasing per slot, unique overall
    births.set(slot, birth);
    list.offer(slot, birth, `r${slot}`);
    const expected = [...births.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    const got = Array.from({ length: list.length }, (_, j) => [list.slotAt(j), list.birthAt(j)]);
    assert.deepEqual(got, expected, `step ${i} (seed=${SEED})`);
  }
  list.expire(Infinity);
  assert.equal(list.length, 0);
});
