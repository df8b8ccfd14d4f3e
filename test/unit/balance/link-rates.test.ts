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
});
