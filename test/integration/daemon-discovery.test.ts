/**
 * Opt-in LAN auto-discovery: daemons that know no peer find each other through beacons sent to a
 * broadcast address — here 127.255.255.255, the loopback network's own, so nothing leaves the
 * host — and a daemon with another secret is not discovered.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterForSuite, freeUdpPorts, status, until, writeSecret } from './daemon-harness.js';

describe('osmo daemon --discovery', () => {
  const { cluster, dir: scratchDir } = clusterForSuite();

  test('nodes without peers discover each other by broadcast on loopback', async () => {
    const dir = scratchDir();
    const secret = writeSecret(dir, 'secret', 'disco-secret-0123456789abcdef');
    const other = writeSecret(dir, 'other', 'other-secret-0123456789abcdef');
    const [p1, p2, p3, discoveryPort] = await freeUdpPorts(4);
    const extra = [
      '--discovery',
      '--discovery-address',
      `127.255.255.255:${discoveryPort}`,
      '--discovery-interval-ms',
      '200',
    ];
    const a = cluster.start({ name: 'a', port: p1!, peers: [], secretFile: secret, dir, extra });
    const b = cluster.start({ name: 'b', port: p2!, peers: [], secretFile: secret, dir, extra });
    const c = cluster.start({ name: 'c', port: p3!, peers: [], secretFile: other, dir, extra });
    await Promise.all(
      [a, b, c].map((d) => d.waitForLog((l) => l.msg === 'daemon started', 20_000, 'started')),
    );
    for (const d of [a, b]) {
      const s = await until(
        async () => {
          const st = await status(d.socket);
          return st && st.nodes.filter((n) => n.alive).length >= 2 ? st : undefined;
        },
        10_000,
        `${d.name} discovers its peer`,
      );
      assert.deepEqual(
        s.nodes.map((n) => n.name),
        ['a', 'b'],
        'c has another secret',
      );
    }
    await a.waitForLog((l) => l.reason === 'unknown-key', 5000, "a drops c's beacons");
    const sc = await status(c.socket);
    assert.deepEqual(
      sc?.nodes.map((n) => n.name),
      ['c'],
    );
  });
});
