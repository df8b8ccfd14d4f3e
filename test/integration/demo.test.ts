/**
 * `osmo demo`, driven as a user runs it: the real binary starts its four daemons and its jobs,
 * prints its summary and leaves nothing behind — no process it started (each pid must be gone:
 * ESRCH), no state directory, no cgroup — also when it is interrupted with SIGINT mid-run; killed
 * with SIGKILL, its processes end by themselves and the next demo removes what it left.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { descendants } from '../../src/cli/demo/processes.js';
import { osmo, osmoBin } from '../helpers/osmo.js';
import { processRuns } from '../helpers/process-runs.js';
import { until } from './daemon-harness.js';
import { TmuxServer, hasTmux } from '../helpers/tmux.js';

const CGROUP_CPU = '/sys/fs/cgroup/cpu';

function assertGone(pids: readonly number[], context: string): void {
  assert.ok(pids.length > 0, `no pids to check: ${context}`);
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ESRCH', `kill(${pid}, 0)`);
      return false;
    }
  });
  assert.deepEqual(alive, [], `processes still alive after the demo: ${context}`);
}

/** The processes in the demo's cgroups (osmosis-demo-<its pid>/<node>), if it has them. */
function cgroupTasks(demoPid: number | undefined): number[] {
  const group = join(CGROUP_CPU, `osmosis-demo-${demoPid}`);
  if (demoPid === undefined || !existsSync(group)) return [];
  return readdirSync(group, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      try {
        return readFileSync(join(group, e.name, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter(Boolean);
      } catch {
        return [];
      }
    })
    .map(Number);
}

/** The demo's cgroup (osmosis-demo-<its pid>) must be gone. */
function assertNoCgroup(demoPid: number | undefined): void {
  if (demoPid === undefined || !existsSync(CGROUP_CPU)) return;
  assert.ok(
    !readdirSync(CGROUP_CPU).includes(`osmosis-demo-${demoPid}`),
    `cgroup osmosis-demo-${demoPid} left behind`,
  );
}

/** The pids of the "stopped N processes (pids …)" line. */
function stoppedPids(stdout: string): number[] {
  const m = /^stopped (\d+) processes \(pids ([\d ]+)\)/m.exec(stdout);
  assert.ok(m, `no "stopped … processes" line in:\n${stdout}`);
  const pids = m[2]!.trim().split(' ').map(Number);
  assert.equal(pids.length, Number(m[1]));
  return pids;
}

interface JsonSummary {
  ok: boolean;
  exitCode: number;
  stateDir: string;
  pids: number[];
  withMigrationMs: number;
  migrations: number;
  runs: {
    balanced: {
      nodePids: number[];
      jobs: { id: number; pid: number; exitCode: number; cpuSec: number; result: string }[];
    };
  };
}

describe('osmo demo', () => {
  test('a short run: 4 jobs, summary as JSON, nothing left behind', async () => {
    let demoPid: number | undefined;
    const r = await osmo(
      ['demo', '--jobs', '4', '--scale', '0.2', '--no-monitor', '--no-baseline', '--json'],
      { stdinNull: true, deadlineMs: 90_000, onSpawn: (c) => (demoPid = c.pid) },
    );
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout.toString('utf8')) as JsonSummary;
    assert.equal(s.ok, true);
    assert.equal(s.exitCode, 0);
    const jobs = s.runs.balanced.jobs;
    assert.deepEqual(
      jobs.map((j) => j.id),
      [1, 2, 3, 4],
    );
    for (const j of jobs) {
      assert.equal(j.exitCode, 0, `job ${j.id}`);
      assert.ok(j.cpuSec > 0, `job ${j.id} reported its CPU time: ${j.result}`);
    }
    assert.match(jobs[0]!.result, /^primes below \d+: \d+ \(cpu [\d.]+ s\)$/);
    assert.match(jobs[1]!.result, /^mandelbrot \d+x\d+: checksum [0-9a-f]{16}, /);
    assert.match(jobs[2]!.result, /^nbody \d+ steps: energy /);
    assert.match(
      jobs[3]!.result,
      /^lookup lookup-4\.dat: \d+ records, \d+ lookups, checksum [0-9a-f]{16} \(cpu [\d.]+ s\)$/,
    );
    assert.ok(s.withMigrationMs > 0);
    // Every process it started: 4 preparing runs, 4 daemons, 4 jobs (and the runners found).
    assert.ok(s.pids.length >= 12, `pids: ${s.pids.join(' ')}`);
    for (const pid of [...s.runs.balanced.nodePids, ...jobs.map((j) => j.pid)])
      assert.ok(s.pids.includes(pid), `pid ${pid} listed`);
    assertGone(s.pids, 'json run');
    assert.equal(existsSync(s.stateDir), false, `${s.stateDir} removed`);
    assertNoCgroup(demoPid);
  });

  test('with the baseline: one line per event, the summary, nothing left behind', async () => {
    let demoPid: number | undefined;
    const r = await osmo(['demo', '--jobs', '3', '--scale', '0.2'], {
      stdinNull: true,
      deadlineMs: 120_000,
      onSpawn: (c) => (demoPid = c.pid),
    });
    const out = r.stdout.toString('utf8');
    assert.equal(r.status, 0, `${r.stderr}\n${out}`);
    assert.match(out, /^CPU (confined by cgroup v1|not confined) /m);
    assert.match(out, /^run 1: n1 pid \d+, n2 pid \d+, n3 pid \d+, n4 pid \d+ \(balancer on\)$/m);
    assert.match(out, /^run 2: .* \(balancer off\)$/m);
    assert.match(out, /^cluster up: 4 nodes alive after [\d.]+s$/m);
    for (const [id, prog] of [
      [1, 'primes'],
      [2, 'mandel'],
      [3, 'nbody'],
    ] as const) {
      assert.match(out, new RegExp(`^t=[\\d.]+s job ${id} \\(${prog}\\) started at n1: `, 'm'));
      assert.match(
        out,
        new RegExp(
          `^t=[\\d.]+s job ${id} \\(${prog}\\) ended on n\\d: exit 0, cpu [\\d.]+ s$`,
          'm',
        ),
      );
    }
    assert.match(out, /^t=[\d.]+s nodes: n1 \d+ jobs? load [\d.?]+ \| n2 /m);
    assert.match(out, /^summary: 4 nodes /m);
    assert.match(out, /^ {2}with migration +[\d.]+ s {3}3 jobs started at n1, \d+ migrations?$/m);
    assert.match(
      out,
      /^ {2}without migration +[\d.]+ s {3}the same jobs, balancer off: all at n1$/m,
    );
    assert.match(out, /^ {2}speed-up +[\d.]+× {3}without \/ with$/m);
    assert.match(
      out,
      /^ {2}ideal +[\d.]+ s {3}[\d.]+ s of CPU \(as the jobs measured it, baseline run\) \/ [\d.]+ CPUs$/m,
    );
    assert.match(
      out,
      /^ {4}job {2}1 primes \d+ +n1( -> n\d)* +ended on n\d at [\d.]+ s, cpu [\d.]+ s$/m,
    );
    const pids = stoppedPids(out);
    // 4 preparing runs (one per program) + 2 × (4 daemons + 3 jobs), plus the runners.
    assert.ok(pids.length >= 18, `pids: ${pids.join(' ')}`);
    assertGone(pids, 'run with baseline');
    const dir = /^state directory (\S+)$/m.exec(out)?.[1];
    assert.ok(dir !== undefined);
    assert.equal(existsSync(dir), false, `${dir} removed`);
    assertNoCgroup(demoPid);
  });

  test('SIGINT after the first job started: exit 130, nothing left behind', async () => {
    let text = '';
    let sent = false;
    let demoPid: number | undefined;
    const r = await osmo(['demo', '--jobs', '3', '--scale', '2'], {
      stdinNull: true,
      deadlineMs: 90_000,
      onSpawn: (c) => (demoPid = c.pid),
      onStdout: (chunk, child) => {
        text += chunk.toString('utf8');
        if (!sent && /^t=[\d.]+s job 1 \(primes\) started at n1: .*, pid \d+$/m.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    const out = r.stdout.toString('utf8');
    assert.ok(sent, `no job started:\n${out}\n${r.stderr}`);
    assert.equal(r.status, 130, `${r.stderr}\n${out}`);
    assert.match(r.stderr, /^osmo: demo: interrupted by SIGINT$/m);
    assert.doesNotMatch(out, /^summary:/m);
    const pids = stoppedPids(out);
    // What it printed before the signal is among what it stopped.
    const nodes = /^run 1: n1 pid (\d+), n2 pid (\d+), n3 pid (\d+), n4 pid (\d+)/m.exec(out);
    assert.ok(nodes);
    const job1 = /job 1 \(primes\) started at n1: .*, pid (\d+)$/m.exec(out);
    assert.ok(job1);
    for (const pid of [...nodes.slice(1), job1[1]].map(Number))
      assert.ok(pids.includes(pid), `pid ${pid} stopped`);
    assertGone(pids, 'after SIGINT');
    const dir = /^state directory (\S+)$/m.exec(out)?.[1];
    assert.ok(dir !== undefined);
    assert.equal(existsSync(dir), false, `${dir} removed`);
    assertNoCgroup(demoPid);
  });

  test('killed outright (SIGKILL): its processes end by themselves, the next demo removes its directory', async () => {
    let text = '';
    let demoPid: number | undefined;
    let tree: number[] = [];
    const r = await osmo(['demo', '--jobs', '3', '--no-baseline'], {
      stdinNull: true,
      deadlineMs: 90_000,
      onSpawn: (c) => (demoPid = c.pid),
      onStdout: (chunk, child) => {
        text += chunk.toString('utf8');
        if (tree.length === 0 && /^t=[\d.]+s job 1 \(primes\) started at n1: /m.test(text)) {
          tree = descendants([child.pid!]);
          child.kill('SIGKILL');
        }
      },
    });
    assert.equal(r.signal, 'SIGKILL', `not killed:\n${text}\n${r.stderr}`);
    const nodes = /^run 1: n1 pid (\d+), n2 pid (\d+), n3 pid (\d+), n4 pid (\d+)/m.exec(text);
    assert.ok(nodes);
    const nodePids = nodes.slice(1).map(Number);
    for (const pid of nodePids)
      assert.ok(tree.includes(pid), `node pid ${pid} among its processes`);
    try {
      // The nodes see themselves re-parented within 0.5 s (--stop-with-parent) and stop; the
      // jobs end with their programs, their guests' runners with them.
      await until(
        () => Promise.resolve(nodePids.some(processRuns) ? undefined : true),
        10_000,
        'nodes gone',
      );
      // Confined, the cgroup also holds what it started just before the kill, which the list
      // taken just before may have missed.
      const left = (): number[] => [...tree.filter(processRuns), ...cgroupTasks(demoPid)];
      await until(() => Promise.resolve(left().length > 0 ? undefined : true), 60_000, 'all gone');
    } finally {
      for (const pid of [...tree.filter(processRuns), ...cgroupTasks(demoPid)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ended meanwhile
        }
      }
    }
    const dir = /^state directory (\S+)$/m.exec(text)?.[1];
    assert.ok(dir !== undefined && existsSync(dir), 'a killed demo cannot remove its directory');
    const next = await osmo(['demo', '--jobs', '1', '--scale', '0.2', '--no-baseline', '--json'], {
      stdinNull: true,
      deadlineMs: 90_000,
    });
    assert.equal(next.status, 0, next.stderr);
    assert.equal(existsSync(dir), false, `the next demo removed ${dir}`);
    assertNoCgroup(demoPid);
  });

  /** Runs a long demo, kills the pid `pick` finds in its output, and returns the result. */
  async function killDuring(pick: (out: string) => number | undefined) {
    let text = '';
    let killed: number | undefined;
    let demoPid: number | undefined;
    const r = await osmo(['demo', '--jobs', '3', '--scale', '2', '--no-baseline'], {
      stdinNull: true,
      deadlineMs: 90_000,
      onSpawn: (c) => (demoPid = c.pid),
      onStdout: (chunk) => {
        text += chunk.toString('utf8');
        if (killed !== undefined) return;
        killed = pick(text);
        if (killed !== undefined) process.kill(killed, 'SIGKILL');
      },
    });
    assert.ok(killed !== undefined, `nothing to kill in:\n${text}\n${r.stderr}`);
    return { ...r, out: r.stdout.toString('utf8'), demoPid };
  }

  test('a job that fails: exit 1, one line naming it, nothing left behind', async () => {
    const r = await killDuring((out) => {
      const m = /^t=[\d.]+s job 2 \(mandel\) started at n1: .*, pid (\d+)$/m.exec(out);
      return m === null ? undefined : Number(m[1]);
    });
    assert.equal(r.status, 1, `${r.stderr}\n${r.out}`);
    assert.match(r.stderr, /^osmo: demo: job 2 \(mandel\) failed on n1 \(SIGKILL\)/m);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assertGone(stoppedPids(r.out), 'after a job failed');
    assertNoCgroup(r.demoPid);
  });

  test('a node that dies: exit 1, one line naming it, nothing left behind', async () => {
    const r = await killDuring((out) => {
      if (!/^t=[\d.]+s job 3 \(nbody\) started at n1: /m.test(out)) return undefined;
      const m = /^run 1: .*, n4 pid (\d+) \(balancer on\)$/m.exec(out);
      return m === null ? undefined : Number(m[1]);
    });
    assert.equal(r.status, 1, `${r.stderr}\n${r.out}`);
    // n4 may have held a job by then: that job may be reported lost first.
    assert.match(
      r.stderr,
      /^osmo: demo: (node n4 died \(killed by SIGKILL\)|job \d \(\w+\) failed on n4 )/m,
    );
    assertGone(stoppedPids(r.out), 'after a node died');
    assertNoCgroup(r.demoPid);
  });

  test('--help documents the flags and exit statuses; bad values are usage errors', async () => {
    const help = await osmo(['demo', '--help'], { stdinNull: true });
    assert.equal(help.status, 0);
    const text = help.stdout.toString('utf8');
    for (const flag of ['--jobs', '--scale', '--no-monitor', '--no-baseline', '--keep', '--json'])
      assert.ok(text.includes(flag), `--help mentions ${flag}`);
    assert.match(text, /Exit status:/);
    assert.match(text, /130 by SIGINT/);
    const bad = await osmo(['demo', '--jobs', '0'], { stdinNull: true });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--jobs 0: expected a whole number above 0/);
  });
});

const tmuxServer = new TmuxServer(`osmo-demo-test-${process.pid}`);
const tmux = (...args: string[]): string => tmuxServer.run(...args);
const waitForScreen = (session: string, re: RegExp, deadlineMs: number, what: string) =>
  tmuxServer.waitForScreen(session, re, deadlineMs, what);

describe('osmo demo on a terminal', { skip: hasTmux ? false : 'tmux not installed' }, () => {
  after(() => {
    tmuxServer.kill();
  });

  const start = (session: string, args: string): void => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(osmoBin)} demo ${args}; echo DEMO-EXIT=$?; sleep 600`;
    tmux('new-session', '-d', '-x', '80', '-y', '24', '-s', session, cmd);
  };

  test('a live screen of nodes and jobs, then the summary', async () => {
    start('live', '--jobs 2 --scale 0.3 --no-baseline');
    const s = await waitForScreen(
      'live',
      /osmo demo · with migration · t=[\d.]+s · \d\/2 done/,
      60_000,
      'the live screen of the run',
    );
    assert.match(s, /^NODE +LOAD +SPEED +CPU +JOBS +GUESTS$/m);
    for (const n of ['n1', 'n2', 'n3', 'n4']) assert.match(s, new RegExp(`^${n} +[█░]+ `, 'm'));
    assert.match(s, /^ +JOB +PROGRAM +WHERE +STATE +CPU +PATH$/m);
    assert.match(s, /^ +1 +primes +n\d /m);
    for (const line of s.split('\n')) assert.ok(line.length <= 80, `fits 80 columns: ${line}`);
    const end = await waitForScreen('live', /DEMO-EXIT=\d+/, 60_000, 'the demo ends');
    assert.match(end, /DEMO-EXIT=0/);
    assert.match(end, /^ {2}with migration +[\d.]+ s /m);
    assert.match(end, /^stopped \d+ processes/m);
  });

  test('Ctrl-C ends it with status 130', async () => {
    start('ctrl-c', '--jobs 2 --scale 2 --no-baseline');
    await waitForScreen('ctrl-c', /osmo demo · with migration · t=/, 60_000, 'the run started');
    tmux('send-keys', '-t', 'ctrl-c', 'C-c');
    const s = await waitForScreen('ctrl-c', /DEMO-EXIT=\d+/, 20_000, 'the demo ends');
    assert.match(s, /DEMO-EXIT=130/);
    assert.match(s, /interrupted by SIGINT/);
    // Wrapped lines joined (-J): the whole list of pids.
    assertGone(stoppedPids(tmux('capture-pane', '-p', '-J', '-t', 'ctrl-c')), 'after Ctrl-C');
  });
});
