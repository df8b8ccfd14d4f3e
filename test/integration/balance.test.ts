/**
 * Automatic load balancing end to end: three real daemons on loopback whose load counts the
 * Osmosis programs they run (they share one kernel). Three CPU-bound programs start at home n1;
 * the home's balancer, on its own, moves the two that may move to the two idle nodes — one
 * each — and keeps the one started with -L at home. Every move is logged with its reason.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestOnce } from '../../src/daemon/control-client.js';
import { connectProcess } from '../../src/process-control/discovery.js';
import {
  fixture,
  makeScratch,
  osmo,
  privateEnv,
  removeScratch,
  repoRoot,
} from '../helpers/osmo.js';
import type { RunResult } from '../helpers/osmo.js';
import type { DaemonProcess } from './daemon-harness.js';
import {
  Cluster,
  ONE_HOST_BALANCING,
  startNodes,
  status,
  until,
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
    [n1] = await startNodes(cluster, {
      dir,
      secret: 'balance-test-secret-0123456789',
      // n1 serves Prometheus metrics on a port of its choice (its log says which).
      nodes: [{ extra: ['--metrics-listen', '127.0.0.1:0'] }, {}, {}],
      extra: ONE_HOST_BALANCING,
    });
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

      // What Prometheus sees of n1: the same moves, its programs, the three nodes alive.
      const started = await n1!.waitForLog((l) => l.msg === 'daemon started', 1000, 'started');
      const scrape = await fetch(String(started.metrics));
      assert.equal(scrape.status, 200);
      const text = await scrape.text();
      const series = (name: string): number =>
        Number(
          /^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2],
        );
      assert.ok(series('osmosis_migrations_total{reason="load",result="ok"}') >= 2, text);
      assert.equal(series('osmosis_home_processes'), 3);
      assert.equal(series('osmosis_cluster_nodes{cluster="lab",state="alive"}'), 3);
      assert.equal(series('osmosis_node_info{node="n1",cluster="lab"}'), 1);
    } finally {
      for (const child of children) child.kill('SIGTERM');
    }
    for (const r of await Promise.all(runs)) assert.equal(r.status, 143, r.stderr);
  });

  it('brings a program home when its work turns to reading home files, with reason home', async () => {
    const table = join(dir, 'lookup.dat');
    let pid = 0;
    // Started on n2, where it computes its table (no gain in moving: n1 is as idle as n2); then
    // it reads the table at random, each read a round trip to n1 — until it is brought home.
    const run = osmo(
      ['run', '--daemon', home, '-r', 'n2', join(repoRoot, 'examples', 'lookup.wasm'), table],
      {
        env,
        stdinNull: true,
        deadlineMs: 90_000,
        onSpawn: (child) => (pid = child.pid!),
      },
    );
    const moved = await n1!.waitForLog(
      (l) => l.msg === 'automatic migration' && l.pid === pid,
      60_000,
      'an automatic migration of the lookup program',
    );
    assert.deepEqual([moved.from, moved.to, moved.reason], ['n2', 'n1', 'home']);
    const r = await run;
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout.toString(),
      /^lookup .*lookup\.dat: 65536 records, 60000 lookups, checksum [0-9a-f]{16} \(cpu [\d.]+ s\)$/m,
    );
    assert.equal(existsSync(table), false, 'the program removed its table');
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
        await assert.rejects(client.migrate('n2', 0), /n2 runs 1 processes, its home counted on 0/);
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

  it('chooses where to start without the nodes that refused the start, and says what it counted', async () => {
    for (const refused of [[], ['n2'], ['n2', 'n3'], ['n1', 'n2', 'n3']]) {
      const best = await requestOnce(home, 'best', { memoryBytes: 0, refused });
      const why = `${best.node} for ${refused.join(',')}`;
      assert.ok(!refused.includes(best.node) || best.node === 'n1', why);
      assert.ok(typeof best.expectedQueue === 'number' && best.expectedQueue >= 0);
    }
    const none = await requestOnce(home, 'best', { memoryBytes: 0, refused: ['n2', 'n3'] });
    assert.deepEqual([none.node, none.self], ['n1', true]);
  });

  it('learns the link from a move its user made, and osmo status shows it', async () => {
    let pid = 0;
    // 24 MiB touched, then passes over it for longer than the test needs; started on n2 and -L
    // (nothing moves it by itself), then brought home by its user with osmo migrate.
    const run = osmo(['run', '--daemon', home, '-r', 'n2', '-L', fixture('big'), '24', '100000'], {
      env,
      stdinNull: true,
      deadlineMs: 90_000,
      onSpawn: (child) => (pid = child.pid!),
    });
    try {
      await until(
        async () => {
          const ps = await osmo(['ps', '--json'], { env });
          const listed = (JSON.parse(ps.stdout.toString()) as { processes: Listed[] }).processes;
          return listed.find((p) => p.pid === pid)?.where === 'n2' ? true : undefined;
        },
        30_000,
        'the program runs on n2',
      );
      const before = await status(home);
      assert.equal(before?.linkBytesPerSec?.n2, undefined, 'nothing measured before the move');
      const moved = await osmo(['migrate', String(pid), 'home'], { env, deadlineMs: 60_000 });
      assert.equal(moved.status, 0, moved.stderr);
      // The balancer reads the program every 300 ms; the reading after the move carries it.
      const rate = await until(
        async () => (await status(home))?.linkBytesPerSec?.n2,
        10_000,
        'n1 measured its link to n2',
      );
      // Loopback moves 24 MiB at hundreds of MB/s; any finite rate above 1 MB/s is a measurement.
      assert.ok(rate !== undefined && rate > 1e6 && Number.isFinite(rate), String(rate));
      const shown = await osmo(['status', '--daemon', home], { env });
      assert.match(
        shown.stdout.toString(),
        /\nlinks measured by moves from n1: n2 [\d.]+ MB\/s\nthe same per cluster: lab [\d.]+ MB\/s\n$/,
      );
    } finally {
      if (pid > 0) process.kill(pid, 'SIGTERM');
    }
    assert.equal((await run).status, 143);
  });
});
