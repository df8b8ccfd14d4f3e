import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderStatus } from '../../../src/cli/status.js';
import type { StatusResult } from '../../../src/daemon/control-protocol.js';

const status: StatusResult = {
  node: 'n1',
  cluster: 'lab',
  maxAgeMs: 30_000,
  gossipIntervalMs: 1000,
  uptimeMs: 60_000,
  nodes: [],
};

describe('renderStatus', () => {
  it('ends with the links this node measured, in MB/s, only when it measured any', () => {
    assert.doesNotMatch(renderStatus(status, false), /links/);
    assert.doesNotMatch(renderStatus({ ...status, linkBytesPerSec: {} }, false), /links/);
    const shown = renderStatus({ ...status, linkBytesPerSec: { n3: 12.34e6, n2: 117.6e6 } }, false);
    assert.match(shown, /\nlinks measured by moves from n1: n2 118 MB\/s, n3 12\.3 MB\/s\n$/);
  });

  it('then the same per cluster, when a move measured any', () => {
    const shown = renderStatus(
      {
        ...status,
        linkBytesPerSec: { n3: 12.34e6 },
        clusterLinkBytesPerSec: { partner: 12.34e6, lab: 117.6e6 },
      },
      false,
    );
    assert.match(
      shown,
      /\nlinks measured by moves from n1: n3 12\.3 MB\/s\nthe same per cluster: lab 118 MB\/s, partner 12\.3 MB\/s\n$/,
    );
    assert.doesNotMatch(renderStatus({ ...status, clusterLinkBytesPerSec: {} }, false), /cluster:/);
  });

  it("names each node's cluster when nodes of another cluster are in view", () => {
    const node = (name: string, cluster: string) => ({
      id: name.length,
      name,
      cluster,
      address: `10.0.0.${name.length}:5301`,
      ageMs: 100,
      alive: true,
      self: name === 'n1',
      speed: 10_000,
      cpus: 1,
      load: 0,
      totalMemBytes: 2 ** 30,
      freeMemBytes: 2 ** 29,
      totalSwapBytes: 0,
      freeSwapBytes: 0,
      guests: 0,
      flags: 0,
      status: ['accepting'],
    });
    const own = renderStatus({ ...status, nodes: [node('n1', 'lab'), node('n2', 'lab')] }, false);
    assert.doesNotMatch(own, /CLUSTER/);
    const mixed = renderStatus(
      { ...status, nodes: [node('n1', 'lab'), node('far1', 'partner')] },
      false,
    ).split('\n');
    assert.match(mixed[1]!, /^NAME {9}CLUSTER ADDRESS /);
    assert.match(mixed[2]!, /^n1\* {10}lab {5}10\.0\.0\.2:5301 /);
    assert.match(mixed[3]!, /^far1 {9}partner 10\.0\.0\.4:5301 /);
  });
});
