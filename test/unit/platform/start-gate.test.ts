import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dyingWithParent } from '../../../src/platform/die-with-parent.js';
import { GATE_CLOSED_STATUS, gatedStart } from '../../../src/platform/start-gate.js';

const hasShell = existsSync('/bin/sh');

/** Spawns `file args…` held by a gate (and dying with this process, as a runner starts it). */
function startGated(file: string, args: string[], cwd: string) {
  const gate = gatedStart(file, args);
  const launch = dyingWithParent(gate.file, gate.args);
  const child = spawn(launch.file, launch.args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe', ...gate.stdio],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ended = once(child, 'close').then(([code]) => ({ code: code as number, out, err }));
  return { gate, child, ended };
}

/** Whether `pid` is the gate's shell asleep reading its pipe (a socket pair, as Node makes it). */
function blockedOnGate(pid: number): boolean {
  const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  return argv0 === '/bin/sh' && /read/.test(readFileSync(`/proc/${pid}/wchan`, 'utf8'));
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail('the gate never held the program');
}

describe('a program held by a start gate', { skip: !hasShell }, () => {
  it('runs once opened, with its own pid, argv and directory, the gate closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osmo-gate-'));
    try {
      const { gate, child, ended } = startGated(
        'sh',
        ['-c', 'echo "$$ $0 $1"; pwd; ls /proc/$$/fd', 'name', 'arg one'],
        dir,
      );
      await once(child, 'spawn');
      gate.open(child);
      const r = await ended;
      assert.equal(r.code, 0, r.err);
      const [said, cwd, ...fds] = r.out.trim().split('\n');
      assert.equal(said, `${child.pid} name arg one`);
      assert.equal(cwd, dir);
      // 0, 1, 2 and whatever this test inherited itself; not the gate's descriptor.
      assert.deepEqual(fds.slice(0, 3), ['0', '1', '2']);
      assert.ok(!fds.includes('3'), fds.join(' '));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not run the program before it is opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osmo-gate-'));
    try {
      const { gate, child, ended } = startGated('touch', ['ran'], dir);
      await once(child, 'spawn');
      // Once the shell sleeps reading the gate, nothing can run past it until it is opened.
      await until(() => blockedOnGate(child.pid!));
      assert.equal(existsSync(join(dir, 'ran')), false, 'touch ran before the gate opened');
      gate.open(child);
      assert.equal((await ended).code, 0);
      assert.ok(existsSync(join(dir, 'ran')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closed without being opened, ends without running the program', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osmo-gate-'));
    try {
      const { child, ended } = startGated('touch', ['ran'], dir);
      await once(child, 'spawn');
      (child.stdio[3] as NodeJS.WritableStream).end();
      assert.equal((await ended).code, GATE_CLOSED_STATUS);
      assert.equal(existsSync(join(dir, 'ran')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a program that cannot be run fails as a shell reports it (127)', async () => {
    const { gate, child, ended } = startGated('no-such-program-here', [], tmpdir());
    await once(child, 'spawn');
    gate.open(child);
    const r = await ended;
    assert.equal(r.code, 127);
    assert.match(r.err, /no-such-program-here/);
  });
});
