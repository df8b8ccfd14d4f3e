/**
 * Automatic load balancing end to end: three real daemons on loopback whose load counts the
 * Osmosis programs they run (they share one kernel). Three CPU-bound programs start at home n1;
 * the home's balancer, on its own, moves the two that may move to the two idle nodes — one
 * each — and keeps the one started with -L at home. Every move is logged with its reason.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectProcess } from '../../src/process-control/discovery.js';
import { fixture, makeScratch, osmo, privateEnv, removeScratch } from '../helpers/osmo.js';
import type { RunResult } from '../helpers/osmo.js';
import type { DaemonProcess } from './daemon-harness.js';
import {
  Cluster,
  freeUdpPorts,
  status,
  until,
  writeSecret,
  untilSeesAlive,
} from './daemon-harness.js';

interface Listed {
  pid: number;
  where: string;
  since?: string;
}

describe('automatic load balancing', () => {
  const cluster = new Cluster();
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let n1: DaemonProcess | undefined;
  let home = '';

  before(async () => {
    dir = makeScratch();
    env = privateEnv(dir);
    const secretFile = writeSecret(dir, 'secret', 'balance-test-secret-0123456789');
    const ports = await freeUdpPorts(3);
    for (const [i, port] of ports.entries()) {
      const d = cluster.start({
        name: `n${i + 1}`,
        port,
        peers: ports,
        secretFile,
        dir,
        extra: [
          '--cpus',
          '1',
          '--load-source',
          'osmosis',
          '--load-sample-interval-ms',
          '200',
          '--balance-interval-ms',
          '300',
          '--min-residency-ms',
          '600',
        ],
      });
      if (i === 0) n1 = d;
    }
    home = join(dir, 'n1.sock');
    await untilSeesAlive(home, 3, 'n1 sees all three nodes');
  });

  after(async () => {
    await cluster.stopAll();
    removeScratch(dir);
  });

  it('spreads programs started at home over idle nodes, and keeps -L ones home', async () => {
    const children: ChildProcess[] = [];
    const runs: Promise<RunResult>[] = [];
    const start = (flags: string[]): void => {
      runs.push(
        osmo(['run', '--daemon', home, '-h', ...flags, fixture('spin')], {
          env,
          stdinNull: true,
          deadlineMs: 90_000,
          onSpawn: (child) => children.push(child),
        }),
      );
    };
    start(['-L']);
    start([]);
    start([]);
    const [locked, ...free] = children.map((c) => c.pid!);
    try {
      const spread = await until(
        async () => {
          const ps = await osmo(['ps', '--json'], { env });
          const listed = (JSON.parse(ps.stdout.toString()) as { processes: Listed[] }).processes;
          const where = (pid: number | undefined) => listed.find((p) => p.pid === pid)?.where;
          const away = free.map(where);
          return where(locked) === 'n1' &&
            away.every((w) => w === 'n2' || w === 'n3') &&
            new Set(away).size === 2
            ? listed
            : undefined;
        },
        45_000,
        'the two movable programs run on n2 and n3, the -L one at home',
      );
      assert.ok(spread.every((p) => p.since !== undefined));
      const moves = n1!.lines.filter((l) => l.msg === 'automatic migration');
      assert.ok(moves.length >= 2, JSON.stringify(moves));
      assert.ok(moves.every((m) => m.reason === 'load' && m.pid !== locked));
      const s = await status(home);
      assert.equal(s?.homeProcesses, 3);
      assert.ok((s?.migrations ?? []).filter((m) => m.result === 'ok').length >= 2);
    } finally {
      for (const child of children) child.kill('SIGTERM');
    }
    for (const r of await Promise.all(runs)) assert.equal(r.status, 143, r.stderr);
  });

  it("asks the target's consent: a move counting on fewer processes than run there is refused", async () => {
    const children: ChildProcess[] = [];
    const runs: Promise<RunResult>[] = [];
    const start = (flags: string[]): void => {
      runs.push(
        osmo(['run', '--daemon', home, '-L', '--preemptible', ...flags, fixture('spin')], {
          env,
          stdinNull: true,
          deadlineMs: 90_000,
          onSpawn: (child) => children.push(child),
        }),
      );
    };
    start(['-r', 'n2']);
    start(['-h']);
    const [away, mover] = children.map((c) => c.pid!);
    try {
      await until(
        async () => {
          const ps = await osmo(['ps', '--json'], { env });
          const listed = (JSON.parse(ps.stdout.toString()) as { processes: Listed[] }).processes;
          const where = (pid: number | undefined) => listed.find((p) => p.pid === pid)?.where;
          return where(away) === 'n2' && where(mover) === 'n1' ? listed : undefined;
        },
        30_000,
        'one program runs on n2, the other at home',
      );
      const client = await connectProcess(mover!, { env });
      try {
        // What a home's balancer sends for a load move whose view showed n2 idle: refused.
        await assert.rejects(client.migrate('n2', 0), /n2 runs 1 processes, the move counted on 0/);
        // Counting on the one that runs there: taken.
        const moved = await client.migrate('n2', 1);
        assert.equal(moved.to, 'n2');
      } finally {
        client.close();
      }
    } finally {
      for (const child of children) child.kill('SIGTERM');
    }
    for (const r of await Promise.all(runs)) assert.equal(r.status, 143, r.stderr);
  });
});
