import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PEER_PROCESSES_TIMEOUT_MS,
  gatherProcesses,
  homeProcesses,
  uidArgument,
} from '../../../src/daemon/cluster-processes.js';
import { markStopped, mergeProcesses } from '../../../src/cli/ps.js';
import { isPidStopped } from '../../../src/process-control/pid-alive.js';
import type { ProcessInfo } from '../../../src/process-control/types.js';

function info(home: string, pid: number, where = home): ProcessInfo {
  return {
    pid,
    home,
    where,
    state: 'running',
    cpuTimeMs: 0,
    memoryBytes: 0,
    startedAt: '2026-12-05T00:00:00Z',
    command: ['p.wasm'],
    preemptible: true,
  };
}

const own = { node: 'n1', processes: [info('n1', 10)], unanswered: [] };

void test('the answers of every node are put together; failing or malformed ones are named', async () => {
  const r = await gatherProcesses(own, [
    { name: 'n3', ask: () => Promise.resolve({ processes: [info('n3', 7, 'n1')] }) },
    { name: 'n2', ask: () => Promise.reject(new Error('ECONNREFUSED')) },
    { name: 'n4', ask: () => Promise.resolve({ processes: [{ pid: 'x' }] }) },
    { name: 'n5', ask: () => Promise.resolve('not an answer') },
    {
      name: 'n6',
      ask: () => {
        throw new Error('no live node named n6');
      },
    },
  ]);
  assert.equal(r.node, 'n1');
  assert.deepEqual(
    r.processes.map((p) => [p.home, p.pid]),
    [
      ['n1', 10],
      ['n3', 7],
    ],
  );
  assert.deepEqual(r.unanswered, ['n2', 'n4', 'n5', 'n6']);
});

void test('a large cluster is asked in waves: never more nodes at once than the limit', async () => {
  let inFlight = 0;
  let most = 0;
  const peers = Array.from({ length: 7 }, (_, i) => ({
    name: `n${i + 2}`,
    ask: async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return { processes: [info(`n${i + 2}`, 100 + i)] };
    },
  }));
  const r = await gatherProcesses(own, peers, PEER_PROCESSES_TIMEOUT_MS, 3);
  assert.equal(most, 3);
  assert.equal(r.processes.length, 8);
  assert.deepEqual(r.unanswered, []);
});

void test('a node that does not answer in time is named and not waited for', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const gathering = gatherProcesses(own, [
      { name: 'slow', ask: () => new Promise(() => undefined) },
      { name: 'n2', ask: () => Promise.resolve({ processes: [] }) },
    ]);
    // Let the answering node's promise settle (setImmediate is not mocked: every pending
    // microtask runs first), then pass the deadline.
    await new Promise((resolve) => setImmediate(resolve));
    mock.timers.tick(PEER_PROCESSES_TIMEOUT_MS);
    const r = await gathering;
    assert.deepEqual(r.unanswered, ['slow']);
    assert.deepEqual(
      r.processes.map((p) => p.pid),
      [10],
    );
  } finally {
    mock.timers.reset();
  }
});

void test("a home lists one user's programs by the owner of their control sockets", () => {
  const dir = mkdtempSync(join(tmpdir(), 'osmo-ps-'));
  try {
    const socket = join(dir, 'p.sock');
    writeFileSync(socket, '');
    const mine = process.getuid!();
    const programs = [
      { info: info('n1', 30), socket },
      { info: info('n1', 20), socket },
      { info: info('n1', 40), socket: join(dir, 'gone.sock') },
    ];
    assert.deepEqual(
      homeProcesses(programs, mine).map((p) => p.pid),
      [20, 30],
      'sorted by pid; a socket that is gone (the program ended) is left out',
    );
    assert.deepEqual(homeProcesses(programs, mine + 1), []);
    assert.deepEqual(
      homeProcesses(programs, undefined).map((p) => p.pid),
      [20, 30, 40],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('uid must be absent or a non-negative integer', () => {
  assert.equal(uidArgument({}), undefined);
  assert.equal(uidArgument({ uid: 0 }), 0);
  for (const uid of [-1, 1.5, '1000', null]) {
    assert.throws(() => uidArgument({ uid }), /uid must be a non-negative integer/);
  }
});

void test('osmo ps lists each (home, pid) once: the fresh local reading first, then other homes', () => {
  const here = [info('n1', 10, 'n2')];
  const elsewhere = [info('n2', 5), info('n1', 10, 'n1'), info('a', 99), info('n2', 3)];
  assert.deepEqual(
    mergeProcesses(here, elsewhere).map((p) => [p.home, p.pid, p.where]),
    [
      ['n1', 10, 'n2'],
      ['a', 99, 'a'],
      ['n2', 3, 'n2'],
      ['n2', 5, 'n2'],
    ],
  );
});

void test('osmo ps marks its own home stopped processes stopped, and no other home’s', () => {
  const rows = [info('n1', 10, 'n2'), info('n2', 10), info('n1', 11)];
  assert.deepEqual(
    markStopped(rows, [10], 'n1').map((p) => [p.home, p.pid, p.state]),
    [
      ['n1', 10, 'stopped'],
      ['n2', 10, 'running'],
      ['n1', 11, 'running'],
    ],
  );
  assert.deepEqual(
    markStopped(rows, [10], undefined).map((p) => p.state),
    ['running', 'running', 'running'],
    'without a daemon no row is its home’s',
  );
});

void test('a stopped process is told apart from a running one through /proc', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => child.once('spawn', resolve));
    assert.equal(isPidStopped(child.pid!), false);
    child.kill('SIGSTOP');
    await until(() => isPidStopped(child.pid!));
    child.kill('SIGCONT');
    await until(() => !isPidStopped(child.pid!));
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(isPidStopped(2 ** 22 + 1), false, 'no such process');
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}
