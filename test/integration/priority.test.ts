/**
 * MOSIX's priority method [seed 000, III-D] with real daemons on loopback: n1 is in cluster
 * "partner", n2 and n3 in "lab"; n3 takes partner programs at priority 1. A partner program
 * runs on n3 until a lab program moves in: it is pushed out (its home takes it back, -L), and
 * partner programs are refused there while the lab one runs. Both end with the output of a
 * run that never moved.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeScratch, osmo, privateEnv, removeScratch } from '../helpers/osmo.js';
import type { DaemonProcess, WaitingProgram } from './daemon-harness.js';
import {
  Cluster,
  startNodes,
  startWaiting,
  until,
  untilSeesAlive,
  whereIs,
} from './daemon-harness.js';

describe('the priority method', () => {
  const cluster = new Cluster();
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let n3: DaemonProcess | undefined;
  const socket = (name: string): string => join(dir, `${name}.sock`);
  const programs: WaitingProgram[] = [];

  before(async () => {
    dir = makeScratch();
    env = privateEnv(dir);
    [, , n3] = await startNodes(cluster, {
      dir,
      secret: 'priority-test-secret-0123456789ab',
      nodes: [
        { extra: ['--cluster', 'partner'] },
        { extra: ['--cluster', 'lab'] },
        { extra: ['--cluster', 'lab', '--cluster-priorities', 'partner=1'] },
      ],
      extra: ['--balance', 'false', '--balance-interval-ms', '200'],
    });
    for (const name of ['n1', 'n2', 'n3']) {
      await untilSeesAlive(socket(name), 3, `${name} sees all three nodes`, 20_000);
    }
  });

  after(async () => {
    for (const p of programs) p.child.stdin?.end();
    await Promise.all(programs.map((p) => p.done));
    await cluster.stopAll();
    removeScratch(dir);
  });

  const start = async (home: string, flags: string[]): Promise<WaitingProgram> => {
    const p = await startWaiting(['--daemon', socket(home), ...flags], env);
    programs.push(p);
    return p;
  };
  const where = (home: string, pid: number): Promise<string | undefined> =>
    whereIs(socket(home), env, pid, home);

  it('a better-ranked program pushes a partner guest out, and partners are refused meanwhile', async () => {
    const partner = await start('n1', ['-r', 'n3', '-L']);
    const partnerPid = partner.child.pid!;
    assert.equal(await where('n1', partnerPid), 'n3');

    const own = await start('n2', ['-r', 'n3', '-L']);
    assert.equal(await where('n2', own.child.pid!), 'n3');
    await n3!.waitForLog((l) => l.msg === 'guests pushed out', 10_000, 'n3 pushes the partner out');
    await until(
      async () => ((await where('n1', partnerPid)) === 'n1' ? true : undefined),
      20_000,
      'the partner program is back at its home',
    );
    assert.equal(await where('n2', own.child.pid!), 'n3');

    const refused = await osmo(
      ['run', '--daemon', socket('n1'), '-r', 'n3', fixture('steps'), '2', '1000'],
      { env, deadlineMs: 60_000 },
    );
    assert.equal(refused.status, 0, refused.stderr);
    assert.match(refused.stderr, /n3 runs programs ranked above cluster partner \(priority 1\)/);

    const ctl = await osmo(['ctl', 'status', '--daemon', socket('n3')], { env });
    assert.match(ctl.stdout.toString(), /^clusters: own 0, partner 1; others refused$/m);

    for (const p of [partner, own]) p.child.stdin!.end('line\n');
    for (const p of [partner, own]) {
      const r = await p.done;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'ready\ngot: line\n');
    }
  });
});
