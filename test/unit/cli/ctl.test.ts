import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderAdmin } from '../../../src/cli/ctl.js';

describe('osmo ctl output', () => {
  it('says what a block or an unblock left the node doing', () => {
    assert.deepEqual(renderAdmin({ node: 'n2', action: 'block', blocked: true }), {
      text: 'n2: blocked (takes no new guests)\n',
      complete: true,
    });
    assert.equal(
      renderAdmin({ node: 'n2', action: 'unblock', blocked: false }).text,
      'n2: accepting guests\n',
    );
  });

  it('names every expelled guest, and each one that did not leave', () => {
    const r = renderAdmin({
      node: 'n2',
      action: 'expel',
      blocked: true,
      expelled: [
        { home: 'n1', pid: 10, to: 'n1' },
        { home: 'n1', pid: 11, to: 'n3' },
        { home: 'n4', pid: 12, error: 'node n4 did not answer "expel" within 10000 ms' },
      ],
      remaining: 1,
    });
    assert.equal(r.complete, false);
    assert.equal(
      r.text,
      [
        'n2: blocked (takes no new guests); 3 guests expelled',
        '  n1:10 → n1 (home)',
        '  n1:11 → n3',
        '  n4:12 not expelled: node n4 did not answer "expel" within 10000 ms',
        'n2: 1 guest still here (try again, or wait longer with --wait)',
        '',
      ].join('\n'),
    );
  });

  it('lists the programs brought home, and fails if one did not come', () => {
    const ok = renderAdmin({
      node: 'n1',
      action: 'bring',
      blocked: false,
      brought: [{ pid: 7, from: 'n3', result: 'ok' }],
    });
    assert.deepEqual(ok, { text: 'n1: 1 program away from home\n  7 n3 → home\n', complete: true });
    const failed = renderAdmin({
      node: 'n1',
      action: 'bring',
      blocked: false,
      brought: [{ pid: 8, from: 'n2', result: 'the move to home failed (no memory)' }],
    });
    assert.equal(failed.complete, false);
    assert.match(failed.text, /8 n2 → home failed: the move to home failed/);
  });

  it('shows the guests, the clusters ranked and the flood limit', () => {
    const r = renderAdmin({
      node: 'n3',
      action: 'status',
      blocked: true,
      guests: [
        { home: 'n1', pid: 4, running: true, job: 'slurm-job-9' },
        { home: 'n2', pid: 5, running: false },
        { home: 'n2', pid: 6, running: true, native: true },
      ],
      clusterPriorities: { partner: 1, rogue: 'block' },
      maxLocalProcesses: 8,
    });
    assert.deepEqual(r, {
      text: [
        'n3: blocked (takes no new guests); 3 guests',
        '  n1:4 running (job slurm-job-9)',
        '  n2:5 on its way',
        '  n2:6 running, native (never moves)',
        'clusters: own 0, partner 1, rogue block; others refused',
        "flood control: at most 8 of this home's programs run here at once",
        '',
      ].join('\n'),
      complete: true,
    });
  });

  it('says who reserved the node, what left it, and when a release found no such hold', () => {
    const reservations = [{ id: 'slurm-job-4', since: 1 }];
    const reserved = renderAdmin({
      node: 'h2',
      action: 'reserve',
      blocked: false,
      reservations,
      expelled: [{ home: 'h1', pid: 9, to: 'h3' }],
      remaining: 0,
    });
    assert.deepEqual(reserved, {
      text: 'h2: reserved for slurm-job-4 (takes no guests); 1 guest expelled\n  h1:9 → h3\n',
      complete: true,
    });
    assert.deepEqual(
      renderAdmin({
        node: 'h2',
        action: 'release',
        blocked: true,
        reservations: [],
        released: ['slurm-job-4'],
      }),
      { text: 'h2: released slurm-job-4; blocked (takes no new guests)\n', complete: true },
    );
    assert.deepEqual(
      renderAdmin({ node: 'h2', action: 'release', blocked: false, reservations, released: [] }),
      { text: 'h2: no such hold; reserved for slurm-job-4 (takes no guests)\n', complete: false },
    );
  });
});
