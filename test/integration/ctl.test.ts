/**
 * `osmo ctl` [mosctl]: three real daemons on loopback (n1 the home). A blocked node refuses
 * guests and says so; `expel` empties a node — a program started with -L goes home, a movable one
 * to wherever its home chooses, never the expelling node — and `bring` calls a home's programs
 * back. The example systemd unit's ExecStop expels a node's guests when the machine shuts down,
 * and only then. Each program ends with the output of a run that never moved.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  fixture,
  makeScratch,
  osmo,
  osmoBin,
  privateEnv,
  removeScratch,
  repoRoot,
} from '../helpers/osmo.js';
import type { RunResult } from '../helpers/osmo.js';
import { descendants } from '../../src/cli/demo/processes.js';
import type { DaemonProcess, WaitingProgram } from './daemon-harness.js';
import {
  Cluster,
  startNodes,
  startWaiting,
  status,
  until,
  untilSeesAlive,
  whereIs,
} from './daemon-harness.js';

const execFileAsync = promisify(execFile);

describe('osmo ctl: block, expel, bring', () => {
  const cluster = new Cluster();
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let n1: DaemonProcess | undefined;
  let n2: DaemonProcess | undefined;
  let n3: DaemonProcess | undefined;
  const socket = (name: string): string => join(dir, `${name}.sock`);
  /**
   * n3's temporary directory (its runners', through TMPDIR): like /tmp, one its runners can
   * write to whichever user they run as (nobody, under a root daemon).
   */
  let n3TmpDir = '';
  const n3Tmp = (): string => n3TmpDir;
  const programs: WaitingProgram[] = [];

  before(async () => {
    dir = makeScratch();
    env = privateEnv(dir);
    n3TmpDir = mkdtempSync(join(tmpdir(), 'osmo-ctl-n3-'));
    chmodSync(n3TmpDir, 0o1777);
    [n1, n2, n3] = await startNodes(cluster, {
      dir,
      secret: 'ctl-test-secret-0123456789abcdef',
      nodes: [{}, {}, { env: { TMPDIR: n3Tmp() } }],
      // Nothing moves by itself: every move here is the administrator's.
      extra: ['--balance', 'false', '--balance-interval-ms', '200'],
    });
    await untilSeesAlive(socket('n1'), 3, 'n1 sees all three nodes', 20_000);
  });

  after(async () => {
    for (const p of programs) p.child.stdin?.end();
    await Promise.all(programs.map((p) => p.done));
    await cluster.stopAll();
    removeScratch(dir);
    rmSync(n3TmpDir, { recursive: true, force: true });
  });

  const ctl = (node: string, action: string, ...extra: string[]): Promise<RunResult> =>
    osmo(['ctl', action, '--daemon', socket(node), ...extra], { env, deadlineMs: 90_000 });

  const start = async (flags: string[]): Promise<WaitingProgram> => {
    const p = await startWaiting(['--daemon', socket('n1'), ...flags], env);
    programs.push(p);
    return p;
  };
  const where = (pid: number): Promise<string | undefined> => whereIs(socket('n1'), env, pid);

  /** The home's balancer reads its programs every 200 ms: `pid` is known to run at `node`. */
  const knownAt = (pid: number, node: string): Promise<true> =>
    until(
      async () => ((await where(pid)) === node ? true : undefined),
      10_000,
      `n1's daemon sees ${pid} at ${node}`,
    );

  it('a blocked node refuses guests with the reason, and takes them again once unblocked', async () => {
    const blocked = await ctl('n2', 'block');
    assert.equal(blocked.status, 0, blocked.stderr);
    assert.equal(blocked.stdout.toString(), 'n2: blocked (takes no new guests)\n');
    await until(
      async () => {
        const s = await status(socket('n1'));
        const n2 = s?.nodes.find((n) => n.name === 'n2');
        return n2?.status.includes('blocked') === true ? true : undefined;
      },
      10_000,
      'n1 hears that n2 is blocked',
    );
    const args = [fixture('steps'), '3', '1000'];
    const local = await osmo(['run', '-h', '-L', ...args], { env });
    const refused = await osmo(['run', '--daemon', socket('n1'), '-r', 'n2', ...args], {
      env,
      deadlineMs: 60_000,
    });
    assert.equal(refused.status, 0, refused.stderr);
    assert.match(refused.stderr, /n2 is blocked by its administrator/);
    assert.equal(refused.stdout.toString(), local.stdout.toString());

    const unblocked = await ctl('n2', 'unblock', '--json');
    assert.equal(unblocked.status, 0, unblocked.stderr);
    assert.deepEqual(JSON.parse(unblocked.stdout.toString()), {
      node: 'n2',
      action: 'unblock',
      blocked: false,
    });
  });

  it('expel empties a node: -L goes home, a movable program elsewhere; bring calls them back', async () => {
    const stay = await start(['-r', 'n2', '-L']);
    const movable = await start(['-r', 'n2']);
    const [a, b] = [stay.child.pid!, movable.child.pid!];
    assert.equal(await where(a), 'n2');
    assert.equal(await where(b), 'n2');
    await knownAt(a, 'n2');
    await knownAt(b, 'n2');
    const hosted = await ctl('n2', 'status');
    assert.equal(hosted.status, 0, hosted.stderr);
    assert.equal(
      hosted.stdout.toString(),
      [
        'n2: accepting guests; 2 guests',
        ...[a, b].sort((x, y) => x - y).map((pid) => `  n1:${pid} running`),
        'clusters: every cluster in the view ranked with this one',
        'flood control: off',
        '',
      ].join('\n'),
    );

    const expelled = await ctl('n2', 'expel');
    assert.equal(expelled.status, 0, expelled.stderr);
    const text = expelled.stdout.toString();
    assert.match(text, /^n2: blocked \(takes no new guests\); 2 guests expelled\n/);
    assert.match(text, new RegExp(`  n1:${a} → n1 \\(home\\)`));
    assert.equal(await where(a), 'n1');
    const bAt = await where(b);
    assert.ok(bAt !== undefined && bAt !== 'n2', `expelled ${b} runs at ${bAt}`);
    const s = await status(socket('n2'));
    assert.equal(s?.nodes.find((n) => n.self)?.guests, 0);

    // Away again (by hand: n2 unblocked), then called home.
    assert.equal((await ctl('n2', 'unblock')).status, 0);
    const moved = await osmo(['migrate', String(a), 'n2'], { env, deadlineMs: 30_000 });
    assert.equal(moved.status, 0, moved.stderr);
    const movedB = await osmo(['migrate', String(b), 'n3'], { env, deadlineMs: 30_000 });
    assert.equal(movedB.status, 0, movedB.stderr);
    await knownAt(a, 'n2');
    await knownAt(b, 'n3');
    const brought = await ctl('n1', 'bring', '--json');
    assert.equal(brought.status, 0, brought.stderr);
    const result = JSON.parse(brought.stdout.toString()) as {
      brought: { pid: number; from: string; result: string }[];
    };
    assert.deepEqual(
      result.brought
        .map((p) => [p.pid, p.from, p.result])
        .sort((x, y) => Number(x[0]) - Number(y[0])),
      [
        [a, 'n2', 'ok'],
        [b, 'n3', 'ok'],
      ].sort((x, y) => Number(x[0]) - Number(y[0])),
    );
    assert.equal(await where(a), 'n1');
    assert.equal(await where(b), 'n1');

    for (const p of [stay, movable]) p.child.stdin!.end('line\n');
    for (const p of [stay, movable]) {
      const r = await p.done;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'ready\ngot: line\n');
    }
  });

  it("the systemd unit's ExecStop expels the guests when the machine shuts down, only then", async () => {
    const unit = readFileSync(join(repoRoot, 'examples', 'osmosis.service'), 'utf8');
    const execStop = /^ExecStop=\/bin\/sh -c '(.*)'$/m.exec(unit)?.[1];
    assert.ok(execStop !== undefined, "the unit stops with ExecStop=/bin/sh -c '…'");
    // systemd turns $$ into $; osmo and systemctl come from PATH, as they do under systemd.
    const script = execStop.replaceAll('$$', '$');
    const bin = join(dir, 'unit-bin');
    mkdirSync(bin, { recursive: true });
    const systemctl = '#!/bin/sh\n[ "$1" = is-system-running ] && echo "$SYSTEM_STATE"\n';
    writeFileSync(join(bin, 'systemctl'), systemctl, { mode: 0o755 });
    const osmoSh = `#!/bin/sh\nexec "${process.execPath}" "${osmoBin}" "$@"\n`;
    writeFileSync(join(bin, 'osmo'), osmoSh, { mode: 0o755 });
    const stop = (state: string): Promise<{ stdout: string; stderr: string }> =>
      execFileAsync('/bin/sh', ['-c', script], {
        env: {
          ...env,
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          OSMOSIS_DAEMON: socket('n3'),
          SYSTEM_STATE: state,
        },
        timeout: 90_000,
      });

    const p = await start(['-r', 'n3', '-L']);
    const pid = p.child.pid!;
    await knownAt(pid, 'n3');
    // A restart or a plain stop (the machine runs on): the guest stays, it outlives the daemon.
    for (const state of ['running', 'degraded']) assert.equal((await stop(state)).stdout, '');
    assert.equal(await where(pid), 'n3');
    // The machine shuts down: the node is blocked and its guest sent away (-L: home).
    const down = await stop('stopping');
    assert.match(down.stdout, /^n3: blocked \(takes no new guests\); 1 guest expelled\n/);
    assert.match(down.stdout, new RegExp(`  n1:${pid} → n1 \\(home\\)`));
    assert.equal(await where(pid), 'n1');

    assert.equal((await ctl('n3', 'unblock')).status, 0);
    p.child.stdin!.end('line\n');
    const done = await p.done;
    assert.equal(done.status, 0, done.stderr);
    assert.equal(done.stdout.toString(), 'ready\ngot: line\n');
  });

  it('a checkpoint its runner cannot write fails with the reason, and the program goes on', async () => {
    // Its runner makes its directory at the first checkpoint; this TMPDIR takes none.
    chmodSync(n3Tmp(), 0o555);
    try {
      const p = await start(['-r', 'n3', '-L']);
      const pid = p.child.pid!;
      await knownAt(pid, 'n3');
      const image = join(dir, 'unwritable.osmosnap');
      const ck = await osmo(['checkpoint', String(pid), '-o', image], { env, deadlineMs: 30_000 });
      assert.notEqual(ck.status, 0, 'the checkpoint cannot have been written');
      assert.match(ck.stderr, /EACCES/);
      assert.equal(ck.stderr.trim().split('\n').length, 1, ck.stderr);
      assert.equal(await where(pid), 'n3', 'the program still runs on n3');
      p.child.stdin!.end('line\n');
      const r = await p.done;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'ready\ngot: line\n');
    } finally {
      chmodSync(n3Tmp(), 0o1777);
    }
  });

  it('a runner leaves no directory behind: spares make none, a signalled one removes its own', async () => {
    const runnerDirs = (): string[] =>
      readdirSync(n3Tmp()).filter((name) => name.startsWith('osmo-runner-'));
    // n3's spares have been waiting since the start, and guests came and went.
    assert.deepEqual(runnerDirs(), []);
    const p = await start(['-r', 'n3', '-L']);
    const pid = p.child.pid!;
    await knownAt(pid, 'n3');
    const image = join(dir, 'on-n3.osmosnap');
    const ck = await osmo(['checkpoint', String(pid), '-o', image], { env, deadlineMs: 30_000 });
    if (ck.status !== 0) {
      p.child.stdin!.end();
      assert.fail(`${ck.stderr}\nthe program: ${(await p.done).stderr.toString()}`);
    }
    assert.equal(runnerDirs().length, 1, 'the checkpoint on n3 gave its runner a directory');
    // SIGTERM to every runner of n3, the guest's too (the program is lost, as its home says).
    const runners = descendants([n3!.child.pid!]).filter((child) =>
      readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').includes('runner'),
    );
    assert.ok(runners.length >= 2, `n3 runs its guest's runner and spares: ${runners.join(' ')}`);
    for (const runner of runners) process.kill(runner, 'SIGTERM');
    await until(
      () => Promise.resolve(runnerDirs().length === 0 ? true : undefined),
      10_000,
      'the runner removed its directory',
    );
    const done = await p.done;
    assert.notEqual(done.status, 0, 'its program was lost with its runner');
  });

  it('refuses an unknown action with exit 2 and names the actions', async () => {
    const r = await ctl('n1', 'reboot');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /use one of status, block, unblock, expel, bring/);
  });

  it('a daemon restarted while a guest runs counts it, and expels it', async () => {
    const p = await start(['-r', 'n2', '-L']);
    assert.equal(await where(p.child.pid!), 'n2');
    n2!.child.kill('SIGKILL');
    await n2!.exited;
    n2 = cluster.start(n2!.options);
    const adopted = await n2.waitForLog(
      (l) => l.msg === 'guests from before a restart',
      20_000,
      'n2 finds the guest it had',
    );
    assert.equal(adopted.guests, 1);
    const self = async (): Promise<number | undefined> =>
      (await status(socket('n2')))?.nodes.find((n) => n.self)?.guests;
    assert.equal(await until(self, 10_000, 'n2 answers'), 1);
    // It asks the home to move the guest: it must hear the others again first.
    await untilSeesAlive(socket('n2'), 3, 'the restarted n2 hears the others again');
    const r = await ctl('n2', 'expel');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), new RegExp(`  n1:${p.child.pid} → n1 \\(home\\)`));
    assert.equal(await where(p.child.pid!), 'n1');
    assert.equal(await self(), 0);
    assert.equal((await ctl('n2', 'unblock')).status, 0);
    p.child.stdin!.end('line\n');
    assert.equal((await p.done).stdout.toString(), 'ready\ngot: line\n');
  });

  it('names a guest whose home does not answer, does not wait for it, and exits 1', async () => {
    const p = await start(['-r', 'n2', '-L']);
    assert.equal(await where(p.child.pid!), 'n2');
    // The home's daemon dies; its program (and deputy) go on, on n2.
    n1!.child.kill('SIGKILL');
    await n1!.exited;
    const started = Date.now();
    const r = await ctl('n2', 'expel');
    assert.equal(r.status, 1, r.stderr);
    assert.ok(Date.now() - started < 30_000, 'the 60 s wait is not spent on a home that failed');
    assert.match(r.stdout.toString(), new RegExp(`  n1:${p.child.pid} not expelled: `));
    assert.match(r.stdout.toString(), /n2: 1 guest still here/);
    p.child.stdin!.end('line\n');
    const done = await p.done;
    assert.equal(done.stdout.toString(), 'ready\ngot: line\n');
  });
});
