/**
 * `osmo ps`, `osmo checkpoint`, `osmo freeze`, `osmo continue` — the real CLI — against fake
 * processes (process-control-fake-server.ts) serving the real control socket. Every socket lives
 * in a scratch XDG_RUNTIME_DIR; every process started is killed at the end.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeScratch, osmo, removeScratch } from '../helpers/osmo.js';
import type { RunResult } from '../helpers/osmo.js';
import type { ProcessInfo } from '../../src/process-control/types.js';

const fakeServer = fileURLToPath(new URL('./process-control-fake-server.js', import.meta.url));
const started = new Set<ChildProcess>();

interface Fake {
  child: ChildProcess;
  pid: number;
  socket: string;
  exited: Promise<void>;
}

/** Starts a fake process and waits (with a deadline) for its "ready" line. */
function startFake(env: NodeJS.ProcessEnv, imageDir: string, extra: string[] = []): Promise<Fake> {
  const child = spawn(process.execPath, [fakeServer, imageDir, ...extra], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  void exited.then(() => started.delete(child));
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fake server not ready within 10 s; stderr: ${err}`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake server exited (${code}) before ready; stderr: ${err}`));
    });
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /^ready (\d+) (\S+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, pid: Number(m[1]), socket: m[2]!, exited });
      }
    });
  });
}

after(() => {
  for (const child of started) child.kill('SIGKILL');
});

function scratchEnv(): { dir: string; env: NodeJS.ProcessEnv; procDir: string } {
  const dir = makeScratch();
  after(() => removeScratch(dir));
  const run = join(dir, 'run');
  return {
    dir,
    env: { ...process.env, XDG_RUNTIME_DIR: run },
    procDir: join(run, 'osmosis', 'proc'),
  };
}

function psJson(r: RunResult): { processes: ProcessInfo[]; unanswered: number[] } {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.toString()) as { processes: ProcessInfo[]; unanswered: number[] };
}

/** A pid that surely belonged to a process that is now gone: one of ours, killed. */
async function killedFake(env: NodeJS.ProcessEnv, dir: string): Promise<Fake> {
  const fake = await startFake(env, dir);
  fake.child.kill('SIGKILL');
  await fake.exited;
  return fake;
}

void describe('osmo ps', () => {
  void test('lists each process in an 80-column table and as JSON', async () => {
    const { dir, env } = scratchEnv();
    const a = await startFake(env, dir, ['--', 'h.wasm', 'a b', "it's"]);
    const b = await startFake(env, dir, ['--', 'x'.repeat(200) + '.wasm']);
    const table = await osmo(['ps'], { env });
    assert.equal(table.status, 0, table.stderr);
    const lines = table.stdout.toString().trimEnd().split('\n');
    assert.match(lines[0]!, /^\s+PID HOME\s+STATE\s+WHERE\s+SINCE\s+CPU\s+MEM COMMAND$/);
    assert.equal(lines.length, 3);
    for (const line of lines) assert.ok([...line].length <= 80, `too wide: ${line}`);
    const rowA = lines.find((l) => l.trimStart().startsWith(`${a.pid} `))!;
    assert.match(rowA, /running\s+local\s+-\s+1:23\.4\s+64\.0M h\.wasm 'a b' 'it'\\''s'$/);
    assert.ok(lines.some((l) => l.trimStart().startsWith(`${b.pid} `) && l.endsWith('…')));

    const json = psJson(await osmo(['ps', '--json'], { env }));
    assert.deepEqual(
      json.processes.map((p) => p.pid),
      [a.pid, b.pid].sort((x, y) => x - y),
    );
    const infoA = json.processes.find((p) => p.pid === a.pid)!;
    assert.deepEqual(infoA.command, ['h.wasm', 'a b', "it's"]);
    assert.equal(infoA.state, 'running');
    assert.deepEqual(json.unanswered, []);
  });

  void test('no processes: a header only, and an empty JSON list', async () => {
    const { env } = scratchEnv();
    const r = await osmo(['ps'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString().trimEnd().split('\n').length, 1);
    assert.deepEqual(psJson(await osmo(['ps', '--json'], { env })).processes, []);
  });

  void test('stale sockets of dead processes are removed; a silent process does not hang ps', async () => {
    const { dir, env } = scratchEnv();
    const live = await startFake(env, dir);
    const dead = await killedFake(env, dir);
    assert.ok(existsSync(dead.socket), 'SIGKILL leaves the socket behind');
    const silent = await startFake(env, dir, ['--silent']);

    const r = await osmo(['ps', '--json'], { env, deadlineMs: 20_000 });
    const json = psJson(r);
    assert.deepEqual(
      json.processes.map((p) => p.pid),
      [live.pid],
    );
    assert.deepEqual(json.unanswered, [silent.pid]);
    assert.match(
      r.stderr,
      new RegExp(`osmo: process ${silent.pid} is not listed: no answer within`),
    );
    assert.equal(existsSync(dead.socket), false, 'stale socket removed');
    assert.ok(existsSync(silent.socket), 'a live but silent process keeps its socket');
  });

  void test('a socket directory others can enter is refused with a clear message', async () => {
    const { dir, env, procDir } = scratchEnv();
    const fake = await startFake(env, dir);
    chmodSync(procDir, 0o755);
    const r = await osmo(['ps'], { env });
    assert.equal(r.status, 2);
    assert.equal(r.stdout.length, 0);
    assert.match(
      r.stderr,
      new RegExp(`^osmo: ${procDir} has mode 0755; .*chmod 700 ${procDir}\`\n$`),
    );
    const f = await osmo(['freeze', String(fake.pid)], { env });
    assert.equal(f.status, 2);
    assert.match(f.stderr, /has mode 0755/);
    // The refused process was not touched.
    chmodSync(procDir, 0o700);
    assert.equal(psJson(await osmo(['ps', '--json'], { env })).processes[0]?.state, 'running');
  });
});

void describe('osmo checkpoint / freeze / continue', () => {
  void test('checkpoint -o FILE writes the image there and prints it; the process goes on', async () => {
    const { dir, env } = scratchEnv();
    const fake = await startFake(env, dir);
    const file = join(dir, 'one.osmo');
    const r = await osmo(['checkpoint', String(fake.pid), '-o', file], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), file + '\n');
    assert.match(readFileSync(file, 'utf8'), /^OSMOSIS fake image/);

    // Relative to the caller's directory, not the process's.
    const rel = await osmo(['checkpoint', String(fake.pid), '-o', 'two.osmo', '--json'], {
      env,
      cwd: dir,
    });
    assert.equal(rel.status, 0, rel.stderr);
    const result = JSON.parse(rel.stdout.toString()) as { file: string; bytes: number };
    assert.equal(result.file, join(dir, 'two.osmo'));
    assert.ok(result.bytes > 0 && existsSync(result.file));

    const info = psJson(await osmo(['ps', '--json'], { env })).processes[0]!;
    assert.equal(info.state, 'running');
    assert.equal(info.checkpointFile, join(dir, 'two.osmo'));
  });

  void test('freeze shows frozen in ps; continue resumes; repeating either says why (exit 1)', async () => {
    const { dir, env } = scratchEnv();
    const fake = await startFake(env, dir);
    const pid = String(fake.pid);
    const f = await osmo(['freeze', pid], { env });
    assert.equal(f.status, 0, f.stderr);
    const image = f.stdout.toString().trim();
    assert.ok(existsSync(image));

    let info = psJson(await osmo(['ps', '--json'], { env })).processes[0]!;
    assert.equal(info.state, 'frozen');
    assert.equal(info.memoryBytes, 0);
    assert.match(
      (await osmo(['ps'], { env })).stdout.toString(),
      new RegExp(`${pid} local +frozen `),
    );

    const again = await osmo(['freeze', pid], { env });
    assert.equal(again.status, 1);
    assert.equal(again.stderr, `osmo: process ${pid} is already frozen\n`);

    const c = await osmo(['continue', pid], { env });
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout.length, 0);
    info = psJson(await osmo(['ps', '--json'], { env })).processes[0]!;
    assert.equal(info.state, 'running');

    const c2 = await osmo(['continue', pid], { env });
    assert.equal(c2.status, 1);
    assert.equal(c2.stderr, `osmo: process ${pid} is not frozen (it is running)\n`);
  });

  void test('an unknown PID is exit 3 with a one-line message; a bad PID is exit 2', async () => {
    const { dir, env } = scratchEnv();
    const dead = await killedFake(env, dir);
    for (const cmd of ['checkpoint', 'freeze', 'continue']) {
      const r = await osmo([cmd, String(dead.pid)], { env });
      assert.equal(r.status, 3, `${cmd}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `osmo: no Osmosis process ${dead.pid} of yours on this node (osmo ps lists them)\n`,
      );
    }
    assert.equal(existsSync(dead.socket), false, 'the stale socket was removed on the way');
    const bad = await osmo(['freeze', '12x'], { env });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'osmo: PID must be a positive integer (got "12x")\n');
  });

  void test('each --help documents its exit statuses', async () => {
    for (const cmd of ['ps', 'checkpoint', 'freeze', 'continue']) {
      const r = await osmo([cmd, '--help']);
      assert.equal(r.status, 0);
      assert.match(r.stdout.toString(), /Exit status/);
    }
    const help = (await osmo(['freeze', '--help'])).stdout.toString();
    assert.match(help, /3\s+no Osmosis process/);
  });
});
