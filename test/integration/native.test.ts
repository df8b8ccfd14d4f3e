/**
 * Native programs as batch jobs (osmo run -E, docs/native.md): a C program compiled for this
 * machine (not wasm) runs on another node as the user who started it, in the same directory,
 * with its stdio, signals and exit status at home; it goes only to nodes whose daemon runs
 * native programs, and never outlives its osmo run. Three root daemons (n1 the home, n2 without
 * native programs, n3 with) and the user nobody; skipped with the reason without root or a C
 * compiler.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeScratch, osmo, privateEnv, removeScratch, repoRoot } from '../helpers/osmo.js';
import { AS_NOBODY, asNobodyUnavailable, nobodyIn } from '../helpers/as-nobody.js';
import type { ProcessInfo } from '../../src/process-control/types.js';
import {
  Cluster,
  ONE_HOST_BALANCING,
  startNodes,
  startWaiting,
  until,
  untilSeesAlive,
} from './daemon-harness.js';
import { processRuns } from '../helpers/process-runs.js';

function compilerUnavailable(): string | undefined {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'no clang for the native test program';
  }
}

const skip = asNobodyUnavailable() ?? compilerUnavailable();

/** The pids the test program wrote to `file` ("PID CHILDPID"), once it has. */
function pidsIn(file: string): Promise<number[]> {
  return until(
    () =>
      Promise.resolve(
        existsSync(file) ? readFileSync(file, 'utf8').trim().split(' ').map(Number) : undefined,
      ),
    20_000,
    'the program wrote its pids',
  );
}

/** Resolves once none of `pids` runs. */
function allEnded(pids: readonly number[], what: string): Promise<true> {
  return until(
    () => Promise.resolve(pids.every((p) => !processRuns(p)) || undefined),
    15_000,
    what,
  );
}

/** The parent of a running process (its runner, for a program away). */
function parentOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
}

describe('native programs (osmo run -E)', { skip }, () => {
  const cluster = new Cluster();
  let dir = '';
  let work = '';
  let env: NodeJS.ProcessEnv = {};
  let nobodyUid = -1;
  const n1 = (): string => join(dir, 'n1.sock');

  before(async () => {
    dir = makeScratch();
    env = nobodyIn(dir);
    // nobody's working directory, with the program in it
    work = join(dir, 'work');
    mkdirSync(work);
    execFileSync('clang', [
      '-O2',
      '-o',
      join(work, 'batch'),
      join(repoRoot, 'tests/fixtures/native/batch.c'),
    ]);
    execFileSync('chown', ['-R', 'nobody:nogroup', work]);
    chmodSync(work, 0o755);
    nobodyUid = statSync(work).uid;
    const usersSocket = join(dir, 'public', 'users.sock');
    env = { ...env, OSMOSIS_DAEMON: usersSocket };
    await startNodes(cluster, {
      dir,
      secret: 'native-test-secret-0123456789abcdef',
      extra: ONE_HOST_BALANCING,
      nodes: [{ extra: ['--users-socket', usersSocket] }, {}, { extra: ['--native', 'true'] }],
    });
    await untilSeesAlive(n1(), 3, 'n1 sees all three nodes');
  });

  after(async () => {
    await cluster.stopAll();
    removeScratch(dir);
  });

  const run = (args: readonly string[], input = '', onSpawn?: (c: ChildProcess) => void) =>
    osmo(['run', '-E', ...args], {
      env,
      prefix: AS_NOBODY,
      cwd: work,
      input,
      ...(onSpawn === undefined ? {} : { onSpawn }),
    });

  it('runs on the node -r names, as its user, in the same directory, with stdio and status at home', async () => {
    const input = 'x'.repeat(200_000);
    const r = await run(['-r', 'n3', './batch', 'echo', 'one', 'two words'], input);
    assert.equal(r.status, 7, r.stderr + cluster.logTails());
    const out = r.stdout.toString();
    assert.match(out, /^node=n3\n/);
    assert.match(out, new RegExp(`\ncwd=${work}\n`));
    assert.match(out, new RegExp(`\nuid=${nobodyUid}\n`));
    assert.match(out, /\narg=one\narg=two words\n/);
    const echoed = out.indexOf(input);
    assert.ok(
      echoed > 0,
      `stdin went through it to stdout: ${out.length} bytes, ${out.split('x').length - 1} x, ` +
        `ending ${JSON.stringify(out.slice(-40))}, beginning ${JSON.stringify(out.slice(0, 200))}`,
    );
    assert.equal(out.slice(echoed + input.length), 'stdin-bytes=200000\n');
    assert.equal(r.stderr, 'a line on stderr\n');
    // Its files are the node's: here the same file system, so the file is in work, nobody's.
    assert.equal(readFileSync(join(work, 'batch-out.txt'), 'utf8'), '200000\n');
    assert.equal(statSync(join(work, 'batch-out.txt')).uid, nobodyUid);
  });

  it('its output reaches a slow reader at home whole', async () => {
    // The reader stops for a while: osmo run must not exit with what the pipe has not taken yet
    // (it once did: 340 KiB of 4 MiB arrived).
    const bytes = 4 << 20;
    let chunks = 0;
    const r = await osmo(['run', '-E', '-r', 'n3', 'head', '-c', String(bytes), '/dev/zero'], {
      env,
      prefix: AS_NOBODY,
      cwd: work,
      input: '',
      onStdout: (_chunk, child) => {
        // A second after the first chunk, then a moment after each of the next 20: osmo run's
        // stdout fills again and again.
        if (++chunks > 21) return;
        child.stdout!.pause();
        setTimeout(() => child.stdout!.resume(), chunks === 1 ? 1000 : 20);
      },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.length, bytes);
    // Nothing on stderr: each wait for room once left listeners behind (Node's leak warning).
    assert.equal(r.stderr, '');
  });

  it('-b chooses only a node that runs native programs', async () => {
    // A program held at home makes n1 busier than n2 and n3: a start then goes elsewhere, once
    // n1's load shows it — and only to n3, though n2 is as idle.
    const busy = await startWaiting(['-h', '-L', '--daemon', n1()], privateEnv(dir));
    const nodes: string[] = [];
    const start = async (): Promise<string> => {
      const r = await run(['./batch', 'echo']);
      assert.equal(r.status, 7, r.stderr);
      const node = /^node=(\w+)\n/.exec(r.stdout.toString())?.[1] ?? '?';
      nodes.push(node);
      return node;
    };
    try {
      await until(
        async () => ((await start()) === 'n3' ? true : undefined),
        20_000,
        'a start with -b went to n3',
      );
      // Once n3 counts a start, n2 would look best to a choice that ignored the flag.
      for (let i = 0; i < 4; i++) await start();
      assert.ok(!nodes.includes('n2'), `never n2: ${nodes.join(', ')}`);
      // Not even asked (it would refuse, and the next choice would be n3 all the same).
      const n2Log = cluster.daemons[1]!.raw.join('\n');
      assert.doesNotMatch(n2Log, /native program refused/);
    } finally {
      busy.child.kill('SIGTERM');
      await busy.done;
    }
  });

  it('a node without native programs refuses it: it runs at home, and stderr says why', async () => {
    const r = await run(['-r', 'n2', './batch', 'echo']);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stdout.toString(), /^node=n1\n/);
    assert.match(
      r.stderr,
      /could not start \.\/batch on another node \(n2 does not run native programs \(its daemon config has native off\)\); it runs at home/,
    );
  });

  it('a program the node does not have is refused there, then cannot start at home either', async () => {
    const r = await run(['-r', 'n3', './no-such-program']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /n3 has no executable .*no-such-program/);
    assert.match(r.stderr, /cannot start \.\/no-such-program/);
  });

  it('signals reach its whole process group there; osmo ps lists it on n3', async () => {
    const pidFile = join(work, 'pids-signal');
    let child: ChildProcess | undefined;
    const done = run(['-r', 'n3', './batch', 'wait', pidFile], '', (c) => (child = c));
    const pids = await pidsIn(pidFile);
    try {
      const listing = async (): Promise<ProcessInfo | undefined> => {
        const ps = await osmo(['ps', '--json'], { env, prefix: AS_NOBODY });
        const listed = JSON.parse(ps.stdout.toString()) as { processes: ProcessInfo[] };
        return listed.processes.find((p) => p.pid === child!.pid);
      };
      const entry = await listing();
      assert.equal(entry?.where, 'n3', JSON.stringify(entry));
      assert.equal(entry?.native, true);
      // Its memory there, as its runner reports it every second.
      await until(
        async () => (((await listing())?.memoryBytes ?? 0) > 0 ? true : undefined),
        10_000,
        'osmo ps shows the memory it has on n3',
      );
      // Its home's balancer lists it too: osmo ps that cannot see this host's control sockets
      // (a runtime directory of its own, as on another node) gets it from the daemon.
      const elsewhere = join(dir, 'nobody', 'elsewhere');
      mkdirSync(elsewhere, { recursive: true });
      execFileSync('chown', ['nobody:nogroup', elsewhere]);
      await until(
        async () => {
          const ps = await osmo(['ps', '--json'], {
            env: { ...env, XDG_RUNTIME_DIR: elsewhere },
            prefix: AS_NOBODY,
          });
          const listed = JSON.parse(ps.stdout.toString()) as { processes: ProcessInfo[] };
          const seen = listed.processes.find((p) => p.pid === child!.pid);
          return seen?.where === 'n3' && seen.native === true ? true : undefined;
        },
        10_000,
        "n1's daemon lists the native program on n3",
      );
      const migrate = await osmo(['migrate', String(child!.pid), 'home'], {
        env,
        prefix: AS_NOBODY,
      });
      assert.equal(migrate.status, 1, `${migrate.stderr}|${migrate.stdout.toString()}`);
      assert.match(migrate.stderr, /is a native program \(osmo run -E\): it cannot be migrated/);

      // n3's administrator expels its guests: this one cannot move, says so at once, and is not
      // waited for (before, expel waited all of --wait for it: past this call's deadline).
      const n3 = join(dir, 'n3.sock');
      // Only this one: the runners of the earlier tests' programs end a moment after them.
      let listed = '';
      await until(
        async () => {
          const status = await osmo(['ctl', 'status', '--daemon', n3], { env });
          listed = status.stdout.toString();
          return listed.includes('; 1 guest\n') &&
            listed.includes(`  n1:${child!.pid} running, native (never moves)\n`)
            ? true
            : undefined;
        },
        10_000,
        'n3 lists this program as its one guest',
      ).catch((error: Error) => {
        throw new Error(`${error.message}:\n${listed}\n${cluster.logTails(80)}`);
      });
      const expel = await osmo(['ctl', 'expel', '--wait', '600', '--daemon', n3], {
        env,
        deadlineMs: 60_000,
      });
      const expelled = expel.stdout.toString();
      assert.equal(expel.status, 1, `${expel.stderr}|${expelled}`);
      assert.match(
        expelled,
        new RegExp(
          `  n1:${child!.pid} not expelled: a native program: it never moves, and leaves this node when it ends\n`,
        ),
      );
      assert.match(expelled, /n3: 1 guest still here/);
      // What the daemons and runners said: a rare failure here (once, Node 24 CI) is then
      // diagnosable.
      assert.ok(processRuns(pids[0]!), `it runs on\n${cluster.logTails(60)}`);
    } finally {
      child!.kill('SIGTERM'); // a failed check must not leave it running
      // Nor n3 blocked: every later test would then run at home and fail.
      await osmo(['ctl', 'unblock', '--daemon', join(dir, 'n3.sock')], { env });
    }
    const r = await done;
    assert.equal(r.status, 143, r.stderr);
    await allEnded(pids, 'both processes ended');
  });

  it('a program away writing to a pipe nobody reads ends with SIGPIPE, as at home (yes | head)', async () => {
    const r = await osmo(['run', '-E', '-r', 'n3', 'yes'], {
      env,
      prefix: AS_NOBODY,
      cwd: work,
      input: '',
      collectStdout: false,
      onStdout: (_chunk, child) => child.stdout?.destroy(),
    });
    assert.equal(r.status, 141, r.stderr);
    assert.equal(r.stderr, '');
  });

  it('a signal reaches it while it leaves a large stdin unread; it ends and so does its runner', async () => {
    // 8 MiB of stdin that the program never reads: what fits waits on n3, the rest at home.
    // The signal and the end of the link must get past it (they once waited behind it).
    const pidFile = join(work, 'pids-unread');
    let child: ChildProcess | undefined;
    const done = run(['-r', 'n3', './batch', 'wait', pidFile], 'x'.repeat(8 << 20), (c) => {
      child = c;
    });
    const pids = await pidsIn(pidFile);
    child!.kill('SIGTERM');
    const r = await done;
    assert.equal(r.status, 143, r.stderr);
    await allEnded(pids, 'both processes ended');
    // Its runner is gone too: n3 lists no guest.
    const n3 = join(dir, 'n3.sock');
    await until(
      async () =>
        (await osmo(['ctl', 'status', '--daemon', n3], { env })).stdout
          .toString()
          .includes('; 0 guests\n')
          ? true
          : undefined,
      10_000,
      'n3 has no guest left',
    );
  });

  it('never outlives its osmo run: killed with it', async () => {
    const pidFile = join(work, 'pids-kill');
    let child: ChildProcess | undefined;
    const done = run(['-r', 'n3', './batch', 'wait', pidFile], '', (c) => (child = c));
    const pids = await pidsIn(pidFile);
    assert.ok(pids.every(processRuns));
    child!.kill('SIGKILL');
    await done;
    await allEnded(pids, 'both processes ended with the link');
  });

  it('dies with its osmo run at home, and with its runner away, even by SIGKILL', async () => {
    const leftovers: number[] = [];
    try {
      // At home: a child of osmo run, which Node cannot take with it; the kernel does (setpriv).
      const homeFile = join(work, 'pids-kill-home');
      let child: ChildProcess | undefined;
      const home = run(['-h', './batch', 'wait', homeFile], '', (c) => (child = c));
      const atHome = await pidsIn(homeFile);
      leftovers.push(...atHome);
      assert.equal(parentOf(atHome[0]!), child!.pid, 'it runs under osmo run');
      child!.kill('SIGKILL');
      await allEnded(atHome.slice(0, 1), 'the program ended with its osmo run');
      // Its own child still holds the pipes osmo run was given: end it, then osmo run is done.
      process.kill(atHome[1]!, 'SIGKILL');
      await home;

      // Away: its runner killed (the OOM killer, an administrator) takes it along.
      const awayFile = join(work, 'pids-kill-runner');
      const away = run(['-r', 'n3', './batch', 'wait', awayFile]);
      const there = await pidsIn(awayFile);
      leftovers.push(...there);
      process.kill(parentOf(there[0]!), 'SIGKILL');
      // The program by its parent-death signal; what it started, by n3's daemon, which ends
      // the group of a native program whose runner died.
      await allEnded(there, 'the program and its child ended with their runner');
      const r = await away;
      assert.equal(r.status, 69, r.stderr);
      assert.match(r.stderr, /lost the native program on n3/);
    } finally {
      // What the program started is its own (here, a child waiting for a signal): not killed
      // with it, as after a kill -9 of its shell.
      for (const pid of leftovers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ended already
        }
      }
    }
  });

  it('what it leaves behind when it ends is ended there, as SLURM ends a step; at home it lives on', async () => {
    const awayFile = join(work, 'pids-leave-away');
    const away = await run(['-r', 'n3', './batch', 'leave', awayFile]);
    assert.equal(away.status, 0, away.stderr);
    await allEnded(await pidsIn(awayFile), 'its leftover on n3 ended with it');

    const homeFile = join(work, 'pids-leave-home');
    const home = await run(['-h', './batch', 'leave', homeFile]);
    assert.equal(home.status, 0, home.stderr);
    const child = (await pidsIn(homeFile))[1]!;
    try {
      assert.ok(processRuns(child), 'at home what it started lives on, as after its shell');
    } finally {
      process.kill(child, 'SIGKILL');
    }
  });

  it('root never runs native programs on another node', async () => {
    const r = await osmo(['run', '-E', '-r', 'n3', join(work, 'batch'), 'echo'], {
      env: { ...env, OSMOSIS_DAEMON: n1() },
      cwd: work,
      input: '',
    });
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stdout.toString(), /^node=n1\n/);
    assert.match(r.stderr, /n3 never runs a native program of root/);
  });

  it('bad invocations get one line and exit 2', async () => {
    for (const [args, message] of [
      [['-E', '-l', './batch'], /-l does not apply to a native program/],
      [
        ['-E', '--checkpoint-file', 'x', './batch'],
        /--checkpoint-file does not apply to a native program/,
      ],
      [['--cwd', '/tmp', './batch'], /--cwd is for native programs: add -E/],
    ] as const) {
      const r = await osmo(['run', ...args], { env, prefix: AS_NOBODY, cwd: work, input: '' });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  // Last: it restarts n3's daemon.
  it("a runner that outlived its daemon's restart, killed, takes what its program started along", async () => {
    const file = join(work, 'pids-survivor');
    const away = run(['-r', 'n3', './batch', 'wait', file]);
    const there = await pidsIn(file);
    const old = cluster.daemons.find((d) => d.name === 'n3')!;
    // The program ran (it wrote its pids): its daemon has written down its process group by
    // then, since the program waits for that record (platform/start-gate.ts). Without it, a
    // daemon killed in between would leave its successor no group to end.
    const record = join(old.options.dir, 'state-n3', 'guests', `${parentOf(there[0]!)}.json`);
    const recorded = JSON.parse(await readFile(record, 'utf8')) as { group?: number };
    assert.equal(recorded.group, there[0], "n3 recorded the program's process group");
    old.child.kill('SIGKILL');
    await old.exited;
    const restarted = cluster.start(old.options);
    await restarted.waitForLog(
      (l) => l.msg === 'guests from before a restart',
      20_000,
      'n3 restarted, with its guest',
    );
    process.kill(parentOf(there[0]!), 'SIGKILL');
    // The program by its parent-death signal; its child by the new daemon, from the group its
    // predecessor recorded.
    await allEnded(there, 'the program and its child ended with their runner');
    const r = await away;
    assert.equal(r.status, 69, r.stderr);
  });
});
