import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkRates, MIN_MEASURED_IMAGE_BYTES } from '../../../src/balance/link-rates.js';

const MiB = 2 ** 20;

describe('LinkRates', () => {
  it('measures the link to the node at the other end of a move, either way', () => {
    const links = new LinkRates('home');
    assert.equal(links.rate('a'), undefined);
    links.observe('home', 'a', 256 * MiB, 2);
    links.observe('b', 'home', 64 * MiB, 4);
    assert.equal(links.rate('a'), (256 * MiB) / 2);
    assert.equal(links.rate('b'), (64 * MiB) / 4);
    assert.deepEqual(Object.keys(links.snapshot()).sort(), ['a', 'b']);
  });

  it('takes a move between two other nodes (relayed by home) as a bound on both links', () => {
    const links = new LinkRates('home');
    links.observe('a', 'b', 100 * MiB, 10);
    assert.equal(links.rate('a'), 10 * MiB);
    assert.equal(links.rate('b'), 10 * MiB);
  });

  it('ignores images too small to measure a rate, and nonsense times', () => {
    const links = new LinkRates('home');
    links.observe('home', 'a', MIN_MEASURED_IMAGE_BYTES - 1, 0.001);
    links.observe('home', 'a', 64 * MiB, 0);
    links.observe('home', 'a', 64 * MiB, Number.NaN);
    links.observe('home', 'a', Number.NaN, 1);
    assert.equal(links.rate('a'), undefined);
  });

  it('follows a link whose rate changed within a few moves, large images weighing most', () => {
    const links = new LinkRates('home');
    links.observe('home', 'a', 100 * MiB, 1); // 100 MiB/s
    for (let i = 0; i < 4; i++) links.observe('home', 'a', 100 * MiB, 10); // now 10 MiB/s
    const rate = links.rate('a')!;
    assert.ok(rate > 10 * MiB && rate < 11 * MiB, String(rate / MiB));
    // One small fast image hardly moves the figure a large slow one made.
    const mixed = new LinkRates('home');
    mixed.observe('home', 'a', 1024 * MiB, 100);
    mixed.observe('home', 'a', 8 * MiB, 0.01);
    assert.ok(mixed.rate('a')! < 12 * MiB, String(mixed.rate('a')! / MiB));
  });

  describe('by cluster', () => {
    const clusters: Record<string, string> = {
      home: 'lab',
      a: 'lab',
      b: 'lab',
      p1: 'partner',
      p2: 'partner',
      q1: 'far',
    };
    const clusterOf = (node: string) => clusters[node];

    it("charges a node not measured yet what its cluster's moves measured; its own move wins", () => {
      const links = new LinkRates('home', { clusterOf });
      links.observe('home', 'p1', 100 * MiB, 8);
      assert.equal(links.rate('p2'), (100 * MiB) / 8, 'a partner node never moved to');
      assert.equal(links.rate('a'), undefined, 'the own cluster is not the partner');
      links.observe('p2', 'home', 100 * MiB, 4);
      assert.equal(links.rate('p2'), (100 * MiB) / 4);
      assert.deepEqual(Object.keys(links.clusterSnapshot()), ['partner']);
      assert.deepEqual(Object.keys(links.snapshot()).sort(), ['p1', 'p2']);
    });

    it('assumes the configured rate for another cluster until one move measured it', () => {
      const links = new LinkRates('home', { clusterOf, otherClusterBytesPerSec: 12.5e6 });
      assert.equal(links.rate('p1'), 12.5e6);
      assert.equal(links.rate('q1'), 12.5e6);
      assert.equal(links.rate('a'), undefined, 'the own cluster: the LAN default (the policy)');
      assert.equal(links.rate('stranger'), undefined, 'a node of no known cluster');
      links.observe('home', 'p1', 100 * MiB, 1);
      assert.equal(links.rate('p2'), 100 * MiB, 'measured: as fast as the LAN after all');
      assert.equal(links.rate('q1'), 12.5e6);
      // Measured figures only: the assumption is no measurement.
      assert.deepEqual(Object.keys(links.clusterSnapshot()), ['partner']);
    });

    it('learns no cluster from a move between two whose slower line is unknown', () => {
      const links = new LinkRates('home', { clusterOf });
      links.observe('a', 'p1', 100 * MiB, 8);
      assert.deepEqual(links.clusterSnapshot(), {});
      // Both ends are bounded by it, as without clusters.
      assert.equal(links.rate('a'), (100 * MiB) / 8);
      assert.equal(links.rate('p1'), (100 * MiB) / 8);
    });

    it('puts a relayed move on the line that paced it when the other is known to be fast', () => {
      const links = new LinkRates('home', { clusterOf });
      links.observe('home', 'a', 100 * MiB, 1);
      links.observe('b', 'p1', 100 * MiB, 8);
      assert.equal(links.rate('p2'), (100 * MiB) / 8, 'the partner cluster learnt it');
      assert.equal(links.rate('b'), 100 * MiB, "b's link (its cluster's) is not blamed");
      // A relayed move within one cluster teaches that cluster.
      links.observe('p1', 'p2', 100 * MiB, 10);
      assert.ok(links.clusterSnapshot().partner! < (100 * MiB) / 8);
    });
  });
});
