/**
 * `osmo ps` across the cluster [mosps]: two real daemons on loopback, each the home of one
 * program of the same user (each "host" with its own process-socket directory). `osmo ps` at n1
 * lists both, with their homes; `--local` only n1's; a stopped node is named, not waited for.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProcessInfo } from '../../src/process-control/types.js';
import { makeScratch, osmo, privateEnv, removeScratch } from '../helpers/osmo.js';
import type { DaemonProcess, WaitingProgram } from './daemon-harness.js';
import { Cluster, startNodes, startWaiting, until, untilSeesAlive } from './daemon-harness.js';

interface PsJson {
  processes: ProcessInfo[];
  unanswered: number[];
  unansweredNodes: string[];
}

describe('osmo ps across the cluster', () => {
  const cluster = new Cluster();
  let dir = '';
  /** Each home's environment: its own socket directory, as on a host of its own. */
  const envs: NodeJS.ProcessEnv[] = [];
  const sockets: string[] = [];
  let daemons: DaemonProcess[] = [];
  const programs: WaitingProgram[] = [];

  before(async () => {
    dir = makeScratch();
    daemons = await startNodes(cluster, {
      dir,
      secret: 'ps-cluster-test-secret-0123456789',
      nodes: 2,
      // Nothing moves by itself: where each program runs is the test's business.
      extra: ['--balance', 'false', '--balance-interval-ms', '200'],
    });
    for (const d of daemons) {
      sockets.push(d.socket);
      const home = join(dir, `home-${d.name}`);
      mkdirSync(home, { mode: 0o700 });
      envs.push(privateEnv(home));
    }
    await untilSeesAlive(sockets[0]!, 2, 'n1 sees both nodes');
    for (const i of [0, 1])
      programs.push(await startWaiting(['--daemon', sockets[i]!, '-h', '-L'], envs[i]!));
  });

  after(async () => {
    for (const p of programs) p.child.stdin?.end();
    await Promise.all(programs.map((p) => p.done));
    await cluster.stopAll();
    removeScratch(dir);
  });

  const ps = async (args: string[]): Promise<PsJson> => {
    const r = await osmo(['ps', '--json', '--daemon', sockets[0]!, ...args], { env: envs[0]! });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.toString('utf8')) as PsJson;
  };

  it('lists the programs of every home, each with its home', async () => {
    const [a, b] = programs.map((p) => p.child.pid!);
    // The home daemons read their programs each balancing interval: both appear within a few.
    const listed = await until(
      async () => {
        const r = await ps([]);
        return r.processes.length === 2 ? r : undefined;
      },
      10_000,
      'osmo ps at n1 lists both programs',
    );
    assert.deepEqual(
      listed.processes.map((p) => [p.home, p.pid, p.where, p.state]),
      [
        ['n1', a, 'n1', 'running'],
        ['n2', b, 'n2', 'running'],
      ],
    );
    assert.deepEqual(listed.unansweredNodes, []);

    const table = await osmo(['ps', '--daemon', sockets[0]!], { env: envs[0]! });
    const lines = table.stdout.toString().trimEnd().split('\n');
    assert.match(lines[0]!, /^\s+PID HOME\s+STATE\s+WHERE\s+SINCE\s+CPU\s+MEM COMMAND$/);
    assert.ok(
      lines.some((l) => new RegExp(`^\\s*${b} n2\\s+running\\s+n2\\s`).test(l)),
      table.stdout.toString(),
    );
    for (const line of lines) assert.ok([...line].length <= 80, `too wide: ${line}`);
  });

  it('--local lists only the programs started on this node', async () => {
    const local = await ps(['--local']);
    assert.deepEqual(
      local.processes.map((p) => [p.home, p.pid]),
      [['n1', programs[0]!.child.pid]],
    );
  });

  it('a node that is gone is named and its programs left out; the rest are listed', async () => {
    daemons[1]!.child.kill('SIGKILL');
    await daemons[1]!.exited;
    // n1 still believes n2 alive for up to its max age: ps must not wait for it long.
    const r = await ps([]);
    if (r.unansweredNodes.length > 0) assert.deepEqual(r.unansweredNodes, ['n2']);
    assert.deepEqual(
      r.processes.filter((p) => p.home === 'n1').map((p) => p.pid),
      [programs[0]!.child.pid],
    );
  });
});
