/**
 * Mailboxes (MOSIX's migratable sockets, ADR 0021 phase 1), end to end with the real `osmo` and
 * real C programs (tests/fixtures/c/mailbox.c): between two programs of one home without a
 * daemon; kept through a freeze and in a checkpoint; and between homes through two real daemons
 * on loopback, with the receiver moved between its messages.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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
import { requestOnce } from '../../src/daemon/control-client.js';
import { Cluster, startNodes, until, untilSeesAlive } from './daemon-harness.js';

const MAILBOX = fixture('mailbox');
/** The largest message (MAX_MESSAGE_BYTES). */
const MAX = 256 * 1024;

interface Receiver {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly done: Promise<RunResult>;
  /** Lines printed after "ready". */
  readonly lines: string[];
}

/** Receivers still running: a failed test's are killed after its suite (they wait for ever). */
const receivers = new Set<ChildProcess>();

function killReceivers(): void {
  for (const c of receivers) c.kill('SIGKILL');
  receivers.clear();
}

/**
 * Resolves once the home daemon at `socket` has program `pid` among its own (`osmo ps` lists a
 * program of this host before that, from its control socket): until then a message from another
 * home finds no such program there.
 */
function untilRegistered(socket: string, pid: number): Promise<true> {
  return until(
    async () => {
      const own = await requestOnce(socket, 'processes', {});
      return own.processes.some((p) => p.pid === pid) || undefined;
    },
    20_000,
    `the daemon at ${socket} has program ${pid}`,
  );
}

/** Starts `osmo CMD… ` and resolves once the program has printed "ready" (its mailbox is open). */
async function startReceiver(
  command: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<Receiver> {
  let child: ChildProcess | undefined;
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const lines: string[] = [];
  let text = '';
  const done = osmo(command, {
    env,
    deadlineMs: 120_000,
    stdinNull: true,
    onSpawn: (c) => (child = c),
    onStdout: (chunk) => {
      text += chunk.toString();
      const all = text.split('\n');
      text = all.pop()!;
      for (const line of all) {
        if (line === 'ready') ready();
        else lines.push(line);
      }
    },
  });
  receivers.add(child!);
  void done.then(() => receivers.delete(child!));
  await Promise.race([
    isReady,
    done.then((r) => {
      throw new Error(`the receiver ended before it was ready: ${r.stderr}`);
    }),
  ]);
  return { child: child!, pid: child!.pid!, done, lines };
}

/** Runs the sender program to completion; its stdout. */
async function send(
  env: NodeJS.ProcessEnv,
  runArgs: readonly string[],
  dest: string,
  count: number,
): Promise<{ status: number | null; out: string; stderr: string }> {
  const r = await osmo(['run', ...runArgs, MAILBOX, 'send', dest, String(count)], {
    env,
    stdinNull: true,
    deadlineMs: 60_000,
  });
  return { status: r.status, out: r.stdout.toString().trim(), stderr: r.stderr };
}

function messages(home: string, pid: number, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(`${home} ${pid} message ${i}`);
  return out;
}

describe('mailboxes at one home (no daemon)', () => {
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const none = ['--daemon', 'none'];

  before(() => {
    dir = makeScratch();
    env = privateEnv(dir);
  });
  after(() => {
    killReceivers();
    removeScratch(dir);
  });

  it('messages arrive whole, in order, each with its sender', async () => {
    const r = await startReceiver(['run', ...none, MAILBOX, 'recv', '6'], env);
    const a = await send(env, none, String(r.pid), 3);
    assert.equal(a.out, 'sent 3', a.stderr);
    const b = await send(env, none, `local/${r.pid}`, 3);
    assert.equal(b.out, 'sent 3', b.stderr);
    const done = await r.done;
    assert.equal(done.status, 0, done.stderr);
    assert.equal(r.lines.length, 6);
    const senders = [...new Set(r.lines.map((l) => l.split(' ')[1]))];
    assert.equal(senders.length, 2, 'two senders');
    assert.deepEqual(r.lines, [
      ...messages('local', Number(senders[0]), 0, 3),
      ...messages('local', Number(senders[1]), 0, 3),
    ]);
  });

  it('a sender is told ESRCH when no such process has a mailbox; an empty mailbox does not block a non-blocking read', async () => {
    const s = await send(env, none, '999999', 1);
    assert.equal(s.status, 1);
    assert.equal(s.out, 'write: No such process');
    const e = await osmo(['run', ...none, MAILBOX, 'empty'], { env, stdinNull: true });
    assert.equal(e.status, 0, e.stderr);
    assert.equal(e.stdout.toString(), 'read -1 Resource temporarily unavailable\npoll 0\n');
  });

  it('examples/pi: a collector sums the parts its workers send', async () => {
    const pi = join(repoRoot, 'examples', 'pi.wasm');
    const collector = osmo(['run', ...none, pi, 'collect', '3'], { env, deadlineMs: 60_000 });
    // The workers start at once, as in docs/mailboxes.md: one may find the mailbox not yet open.
    let pid = 0;
    await until(
      async () => {
        const ps = await osmo(['ps', '--json', '--daemon', 'none'], { env });
        const list = JSON.parse(ps.stdout.toString()) as {
          processes: { pid: number; command: string[] }[];
        };
        pid = list.processes.find((p) => p.command.includes('collect'))?.pid ?? 0;
        return pid || undefined;
      },
      20_000,
      'the collector is listed',
    );
    const workers = await Promise.all(
      [0, 1, 2].map((i) =>
        osmo(['run', ...none, pi, 'work', String(pid), String(i), '3', '3000000'], { env }),
      ),
    );
    for (const w of workers) assert.equal(w.status, 0, w.stderr);
    const done = await collector;
    assert.equal(done.status, 0, done.stderr);
    const out = done.stdout.toString().trim().split('\n');
    assert.equal(out.filter((l) => /^part \d of 3 from local\/\d+: /.test(l)).length, 3);
    assert.equal(out.at(-1), 'pi = 3.141592653590');
  });

  it('a frozen receiver still accepts messages and reads them once continued', async () => {
    const r = await startReceiver(['run', ...none, '--preemptible', MAILBOX, 'recv', '3'], env);
    const frozen = await osmo(['freeze', String(r.pid)], { env });
    assert.equal(frozen.status, 0, frozen.stderr);
    const s = await send(env, none, String(r.pid), 3);
    assert.equal(s.out, 'sent 3', s.stderr);
    assert.deepEqual(r.lines, []);
    const resumed = await osmo(['continue', String(r.pid)], { env });
    assert.equal(resumed.status, 0, resumed.stderr);
    const done = await r.done;
    assert.equal(done.status, 0, done.stderr);
    assert.equal(r.lines.length, 3);
    assert.match(r.lines[2]!, /^local \d+ message 2$/);
  });

  it('a checkpoint keeps the messages not yet read; the restarted process reads them first', async () => {
    const gate = join(dir, 'gate');
    const image = join(dir, 'mailbox.osmosnap');
    const r = await startReceiver(
      ['run', ...none, '--preemptible', MAILBOX, 'recv', '3', gate],
      env,
    );
    const s = await send(env, none, String(r.pid), 2);
    assert.equal(s.out, 'sent 2', s.stderr);
    const cp = await osmo(['checkpoint', String(r.pid), '-o', image], { env });
    assert.equal(cp.status, 0, cp.stderr);
    // The original reads its two and ends with a third.
    writeFileSync(gate, '');
    await send(env, none, String(r.pid), 1);
    assert.equal((await r.done).status, 0);
    const senderPid = Number(r.lines[0]!.split(' ')[1]);

    const again = osmo(['restart', ...none, image], { env, stdinNull: true, deadlineMs: 60_000 });
    // The restarted process has a pid of its own: find it as a sender would, with osmo ps.
    const pid = await until(
      async () => {
        const ps = await osmo(['ps', '--json', '--daemon', 'none'], { env });
        const list = JSON.parse(ps.stdout.toString()) as { processes: { pid: number }[] };
        return list.processes.find((p) => p.pid !== r.pid)?.pid;
      },
      20_000,
      'the restarted receiver is listed',
    );
    const third = await send(env, none, String(pid), 1);
    assert.equal(third.out, 'sent 1', third.stderr);
    const done = await again;
    assert.equal(done.status, 0, done.stderr);
    const lines = done.stdout.toString().trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), messages('local', senderPid, 0, 2));
    assert.match(lines[2]!, /^local \d+ message 0$/);
  });
});

describe('mailboxes between homes (two daemons on loopback)', () => {
  const cluster = new Cluster();
  let dir = '';
  const envs: NodeJS.ProcessEnv[] = [];
  let daemons: DaemonProcess[] = [];

  before(async () => {
    dir = makeScratch();
    daemons = await startNodes(cluster, {
      dir,
      secret: 'mailbox-test-secret-0123456789abcdef',
      nodes: 2,
      // Nothing moves by itself: where each program runs is the test's business.
      extra: ['--balance', 'false'],
    });
    for (const d of daemons) {
      const home = join(dir, `home-${d.name}`);
      mkdirSync(home, { mode: 0o700 });
      envs.push(privateEnv(home));
    }
    await untilSeesAlive(daemons[0]!.socket, 2, 'n1 sees both nodes');
    await untilSeesAlive(daemons[1]!.socket, 2, 'n2 sees both nodes');
  });

  after(async () => {
    killReceivers();
    await cluster.stopAll();
    removeScratch(dir);
  });

  const at = (i: number): string[] => ['--daemon', daemons[i]!.socket];

  it('a message to another home arrives with its sender home and pid, wherever the receiver runs', async () => {
    const [n1, n2] = [envs[0]!, envs[1]!];
    // Receiver: home n2, moved only by the test.
    const r = await startReceiver(['run', ...at(1), '-h', '-l', MAILBOX, 'recv', '9'], n2);
    await untilRegistered(daemons[1]!.socket, r.pid);
    const first = await send(n1, [...at(0), '-h'], `n2/${r.pid}`, 3);
    assert.equal(first.out, 'sent 3', first.stderr);

    // Moved to n1 while it waits in its read, it goes on receiving there.
    const moved = await osmo(['migrate', String(r.pid), 'n1'], { env: n2 });
    assert.equal(moved.status, 0, moved.stderr);
    // A sender that itself runs away from its home (n1 → n2).
    const second = await send(n1, [...at(0), '-r', 'n2'], `n2/${r.pid}`, 3);
    assert.equal(second.out, 'sent 3', second.stderr);

    const back = await osmo(['migrate', String(r.pid), 'home'], { env: n2 });
    assert.equal(back.status, 0, back.stderr);
    const third = await send(n1, [...at(0), '-h'], `n2/${r.pid}`, 3);
    assert.equal(third.out, 'sent 3', third.stderr);

    const done = await r.done;
    assert.equal(done.status, 0, done.stderr);
    assert.equal(r.lines.length, 9, r.lines.join('\n'));
    for (const [i, line] of r.lines.entries()) {
      assert.match(line, new RegExp(`^n1 \\d+ message ${i % 3}$`));
    }
  });

  it('a message of the largest size crosses homes whole; a larger one is EMSGSIZE', async () => {
    const [n1, n2] = [envs[0]!, envs[1]!];
    const r = await startReceiver(['run', ...at(1), '-h', MAILBOX, 'recv', '1'], n2);
    await untilRegistered(daemons[1]!.socket, r.pid);
    const big = async (size: number) =>
      osmo(['run', ...at(0), '-h', MAILBOX, 'big', `n2/${r.pid}`, String(size)], {
        env: n1,
        stdinNull: true,
      });
    const tooBig = await big(MAX + 1);
    assert.equal(tooBig.stdout.toString(), 'write: Message too large\n');
    const largest = await big(MAX);
    assert.equal(largest.stdout.toString(), `sent ${MAX}\n`, largest.stderr);
    const done = await r.done;
    assert.equal(done.status, 0, done.stderr);
    const payload = r.lines[0]!.split(' ')[2]!;
    assert.equal(payload.length, MAX);
    assert.ok([...payload].every((c, i) => c.charCodeAt(0) === 97 + (i % 26)));
  });

  // It restarts n2's daemon (the tests after it find n2 as before: same name, socket and port).
  it("messages still arrive after the receiver's home daemon restarted", async () => {
    const [n1, n2] = [envs[0]!, envs[1]!];
    const r = await startReceiver(['run', ...at(1), '-h', '-L', MAILBOX, 'recv', '2'], n2);
    await untilRegistered(daemons[1]!.socket, r.pid);
    assert.equal((await send(n1, [...at(0), '-h'], `n2/${r.pid}`, 1)).out, 'sent 1');
    // n1 keeps its node link to n2 (and n2 its connection to the receiver): both end here.
    const old = daemons[1]!;
    old.child.kill('SIGKILL');
    await old.exited;
    daemons[1] = cluster.start(old.options);
    await untilSeesAlive(daemons[1].socket, 2, 'n2, restarted, sees both nodes');
    await untilRegistered(daemons[1].socket, r.pid); // it registers again with the new daemon
    const after = await send(n1, [...at(0), '-h'], `n2/${r.pid}`, 1);
    assert.equal(after.out, 'sent 1', after.stderr);
    const done = await r.done;
    assert.equal(done.status, 0, done.stderr);
    assert.deepEqual(
      r.lines.map((l) => l.replace(/ \d+ /, ' PID ')),
      ['n1 PID message 0', 'n1 PID message 0'],
    );
  });

  it('a sender is told ESRCH for no such process there and EHOSTUNREACH for no such node', async () => {
    const n1 = envs[0]!;
    const none = await send(n1, [...at(0), '-h'], 'n2/999999', 1);
    assert.equal(none.status, 1);
    assert.equal(none.out, 'write: No such process');
    const nowhere = await send(n1, [...at(0), '-h'], 'n9/1234', 1);
    assert.equal(nowhere.status, 1);
    assert.equal(nowhere.out, 'write: Host is unreachable');
  });
});
