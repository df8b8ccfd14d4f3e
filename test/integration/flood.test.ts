/**
 * Flood control [MOSIX III-E] with a real daemon: a home that may run one of its programs at a
 * time (--max-local-processes 1) freezes the second, and with turns of 1 s the two trade places
 * until both are done — each ending with exactly the output of a run on its own.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeScratch, osmo, privateEnv, removeScratch } from '../helpers/osmo.js';
import type { DaemonProcess } from './daemon-harness.js';
import { Cluster, freeUdpPorts, status, until, writeSecret } from './daemon-harness.js';

describe('flood control', () => {
  const cluster = new Cluster();
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let daemon: DaemonProcess | undefined;

  before(async () => {
    dir = makeScratch();
    env = privateEnv(dir);
    const secretFile = writeSecret(dir, 'secret', 'flood-test-secret-0123456789abcdef');
    const ports = await freeUdpPorts(1);
    daemon = cluster.start({
      name: 'n1',
      port: ports[0]!,
      peers: ports,
      secretFile,
      dir,
      extra: [
        '--balance',
        'false',
        '--balance-interval-ms',
        '200',
        '--max-local-processes',
        '1',
        '--frozen-turn-ms',
        '1000',
      ],
    });
    await until(async () => status(join(dir, 'n1.sock')), 20_000, 'n1 answers');
  });

  after(async () => {
    await cluster.stopAll();
    removeScratch(dir);
  });

  it('runs one program at a time, the other frozen, taking turns until both are done', async () => {
    // Each ~3 s of CPU in 6 steps: long enough for turns, short enough for a test.
    const args = [fixture('steps'), '6', '200000000'];
    const alone = await osmo(['run', '-h', '-L', ...args], { env, deadlineMs: 60_000 });
    assert.equal(alone.status, 0, alone.stderr);
    const run = (): ReturnType<typeof osmo> =>
      osmo(['run', '--daemon', join(dir, 'n1.sock'), '-h', '-L', '--preemptible', ...args], {
        env,
        deadlineMs: 120_000,
      });
    const [a, b] = await Promise.all([run(), run()]);
    for (const r of [a, b]) {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), alone.stdout.toString());
    }

    const frozen = daemon!.lines.filter((l) => l.msg === 'flood control: frozen');
    const continued = daemon!.lines.filter((l) => l.msg === 'flood control: continued');
    assert.ok(frozen.length >= 1, 'one of the two was frozen');
    assert.ok(continued.length >= 1, 'and continued');
    assert.ok(frozen.every((l) => l.limit === 1));
    // Turns: with 1 s turns both were frozen at some point (each ~3 s of work).
    assert.equal(new Set(frozen.map((l) => l.pid)).size, 2, JSON.stringify(frozen));
  });
});
