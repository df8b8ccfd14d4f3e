import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { GuestRegistry } from '../../../src/daemon/guest-registry.js';
import { RunnerPool } from '../../../src/daemon/runner-pool.js';
import { Logger } from '../../../src/platform/logger.js';

const root = mkdtempSync(join(tmpdir(), 'osmo-guests-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `state-${dirs++}`, 'guests');

/** A pool that adopts `registry`'s survivors, whose runners are alive while in `alive`. */
function survivorPool(
  registry: GuestRegistry,
  alive: ReadonlySet<number>,
  onChange: () => void = () => undefined,
): RunnerPool {
  return new RunnerPool({
    script: 'osmo',
    host: '127.0.0.1',
    spare: 0,
    user: undefined,
    tls: false,
    log: new Logger({ write: () => undefined }, 'error', {}),
    onChange,
    registry,
    isAlive: (pid) => alive.has(pid),
    survivorCheckMs: 1000,
  });
}

describe('guests recorded for a restarted daemon', () => {
  it('keeps the records of live runners and removes the others, and torn files', () => {
    const registry = new GuestRegistry(freshDir());
    registry.record(101, { home: 'n1', pid: 7, job: 'slurm-job-4' });
    registry.record(102, { home: 'n3', pid: 8 });
    registry.record(105, { home: 'n2', pid: 9, native: true }, 4242);
    writeFileSync(join(registry.dir, '103.json.tmp'), '{"ho'); // a crash mid-write
    writeFileSync(join(registry.dir, '104.json'), 'not json');
    const alive = new Set([101, 104, 105]);
    assert.deepEqual(
      registry.survivors((pid) => alive.has(pid)).sort((a, b) => a.runnerPid - b.runnerPid),
      [
        { runnerPid: 101, guest: { home: 'n1', pid: 7, job: 'slurm-job-4' } },
        // A native program is known as one after a restart: still never asked to move; and
        // its process group, to end should its runner die while it runs.
        { runnerPid: 105, guest: { home: 'n2', pid: 9, native: true }, group: 4242 },
      ],
    );
    assert.deepEqual(readdirSync(registry.dir).sort(), ['101.json', '105.json']);
    registry.forget(101);
    registry.forget(105);
    assert.deepEqual(readdirSync(registry.dir), []);
  });

  it('counts the survivors as guests until their runners end', async () => {
    mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    try {
      const registry = new GuestRegistry(freshDir());
      registry.record(201, { home: 'n1', pid: 9 });
      registry.record(202, { home: 'n1', pid: 10 });
      const alive = new Set([201, 202]);
      let changes = 0;
      const pool = survivorPool(registry, alive, () => changes++);
      assert.equal(pool.adoptSurvivors(), 2);
      assert.equal(pool.guests, 2);
      assert.equal(pool.runningGuests, 2);
      assert.deepEqual(
        pool.guestList().sort((a, b) => a.pid - b.pid),
        [
          { home: 'n1', pid: 9, running: true },
          { home: 'n1', pid: 10, running: true },
        ],
      );
      // Waiting for n1:9 to leave: n1:10 (say, a native program, which never moves) may stay.
      const gone = pool.untilGone([{ home: 'n1', pid: 9 }], 60_000);
      alive.delete(201);
      mock.timers.tick(1000);
      assert.equal(await gone, true);
      assert.equal(pool.guests, 1);
      assert.equal(existsSync(join(registry.dir, '201.json')), false);
      const stays = pool.untilGone([{ home: 'n1', pid: 10 }], 5000);
      mock.timers.tick(5000);
      assert.equal(await stays, false, 'not gone in time');
      alive.delete(202);
      mock.timers.tick(1000);
      assert.equal(pool.guests, 0);
      assert.ok(changes >= 2);
      pool.stop();
    } finally {
      mock.timers.reset();
    }
  });

  it("ends a native program's group when its runner from before a restart is gone", async () => {
    // What the program left running in its group (the program itself dies with its runner).
    const leftover = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    const ended = once(leftover, 'exit');
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const registry = new GuestRegistry(freshDir());
      registry.record(301, { home: 'n1', pid: 11, native: true }, leftover.pid);
      const alive = new Set([301]);
      const pool = survivorPool(registry, alive);
      assert.equal(pool.adoptSurvivors(), 1);
      mock.timers.tick(1000);
      assert.equal(leftover.exitCode, null, 'left alone while its runner runs');
      alive.delete(301);
      mock.timers.tick(1000);
      assert.deepEqual(await ended, [null, 'SIGKILL']);
      assert.equal(pool.guests, 0);
      pool.stop();
    } finally {
      mock.timers.reset();
      if (leftover.exitCode === null && leftover.signalCode === null) leftover.kill('SIGKILL');
    }
  });
});
