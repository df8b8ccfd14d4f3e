/**
 * The control server with a fake ProcessControl, in this process: real Unix sockets in a scratch
 * XDG_RUNTIME_DIR (never the user's), reached through the real client and through raw bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OsmoError } from '../../../src/core/errors.js';
import { ProcessControlClient, openSocket } from '../../../src/process-control/client.js';
import { connectProcess, listProcesses } from '../../../src/process-control/discovery.js';
import type { SkipReason } from '../../../src/process-control/discovery.js';
import { MAX_REQUEST_BYTES } from '../../../src/process-control/protocol.js';
import { startProcessControlServer } from '../../../src/process-control/server.js';
import type { ProcessControlServer } from '../../../src/process-control/server.js';
import { resolveSocketDir } from '../../../src/process-control/socket-dir.js';
import { FakeControl } from './fake-control.js';

interface Scratch {
  root: string;
  env: { XDG_RUNTIME_DIR: string };
  dir: string;
}

function scratch(t: { after: (fn: () => void) => void }): Scratch {
  const root = mkdtempSync(join(tmpdir(), 'osmo-pc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const env = { XDG_RUNTIME_DIR: join(root, 'run') };
  return { root, env, dir: resolveSocketDir({ env }).dir };
}

async function serve(
  t: { after: (fn: () => Promise<void>) => void },
  s: Scratch,
  pid = process.pid,
): Promise<{ control: FakeControl; server: ProcessControlServer }> {
  const control = new FakeControl(pid, s.root);
  const server = await startProcessControlServer(control, { env: s.env, pid });
  t.after(() => server.close());
  return { control, server };
}

/** A pid that surely belonged to a process that is now gone. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid;
}

/** Sends raw bytes, collects response lines until `count` arrived or the peer closed. */
function raw(
  path: string,
  bytes: string | Buffer,
  count: number,
  { end = false, deadlineMs = 5_000 }: { end?: boolean; deadlineMs?: number } = {},
): Promise<{ lines: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let text = '';
    const lines: unknown[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no ${count} answers within ${deadlineMs} ms; got ${JSON.stringify(lines)}`),
      );
    }, deadlineMs);
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ lines, closed });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const parts = text.split('\n');
      text = parts.pop() ?? '';
      for (const p of parts) lines.push(JSON.parse(p));
      if (lines.length >= count) done(false);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => done(true));
    if (end) socket.end(bytes);
    else socket.write(bytes);
  });
}

void test('the socket is <XDG_RUNTIME_DIR>/osmosis/proc/<pid>.sock, 0600 in 0700 dirs; close removes it', async (t) => {
  const s = scratch(t);
  const { server } = await serve(t, s);
  assert.equal(server.path, join(s.env.XDG_RUNTIME_DIR, 'osmosis', 'proc', `${process.pid}.sock`));
  assert.equal(statSync(server.path).mode & 0o777, 0o600);
  assert.equal(statSync(s.dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(s.env.XDG_RUNTIME_DIR, 'osmosis')).mode & 0o777, 0o700);
  assert.ok(statSync(server.path).isSocket());
  await server.close();
  assert.equal(existsSync(server.path), false);
  await server.close(); // idempotent
});

void test('without XDG_RUNTIME_DIR the directory is /tmp/osmosis-<uid>/proc', () => {
  assert.equal(resolveSocketDir({ env: {}, uid: 1234 }).dir, '/tmp/osmosis-1234/proc');
  assert.deepEqual(resolveSocketDir({ env: {}, uid: 1234 }).chain, [
    '/tmp/osmosis-1234',
    '/tmp/osmosis-1234/proc',
  ]);
});

void test('info, checkpoint, freeze, continue through the client; control errors keep their code', async (t) => {
  const s = scratch(t);
  const { control } = await serve(t, s);
  const client = await connectProcess(process.pid, { env: s.env });
  t.after(() => client.close());
  assert.deepEqual(await client.info(), control.info());

  const file = join(s.root, 'explicit.osmo');
  const image = await client.checkpoint(file);
  assert.equal(image.file, file);
  assert.ok(existsSync(file));
  assert.equal((await client.info()).state, 'running');

  const frozen = await client.freeze();
  assert.ok(existsSync(frozen.file));
  const info = await client.info();
  assert.equal(info.state, 'frozen');
  assert.equal(info.memoryBytes, 0);
  assert.equal(info.checkpointFile, frozen.file);

  await assert.rejects(
    client.freeze(),
    (e: OsmoError) => e.code === 'E_USAGE' && /already frozen/.test(e.message),
  );
  await client.continue();
  assert.equal((await client.info()).state, 'running');
  await assert.rejects(
    client.continue(),
    (e: OsmoError) => e.code === 'E_USAGE' && /not frozen/.test(e.message),
  );

  control.diskFull = true;
  await assert.rejects(client.freeze(), (e: OsmoError) => e.code === 'E_SNAPSHOT_WRITE');
  assert.equal((await client.info()).state, 'running', 'a failed freeze leaves it running');
});

void test('a relative checkpoint path is resolved against the client, not the process', async (t) => {
  const s = scratch(t);
  await serve(t, s);
  const client = await connectProcess(process.pid, { env: s.env });
  t.after(() => client.close());
  const image = await client.checkpoint('rel.osmo');
  assert.equal(image.file, join(process.cwd(), 'rel.osmo'));
  rmSync(image.file, { force: true });
});

void test('mutating operations run one at a time; info answers during a freeze', async (t) => {
  const s = scratch(t);
  const { control } = await serve(t, s);
  let release!: () => void;
  control.hold = new Promise<void>((r) => (release = r));
  const a = await connectProcess(process.pid, { env: s.env });
  const b = await connectProcess(process.pid, { env: s.env });
  t.after(() => {
    a.close();
    b.close();
  });
  const freezing = a.freeze();
  // Queued behind the freeze; it then finds the process frozen.
  const checkpointing = b.checkpoint(join(s.root, 'x.osmo')).then(
    () => 'ok',
    (e: OsmoError) => e.code,
  );
  // The freeze is parked in the control; info still answers and shows it.
  const during = await b.info();
  assert.equal(during.state, 'checkpointing');
  assert.deepEqual(control.calls, ['freeze']);
  release();
  await freezing;
  assert.equal(await checkpointing, 'E_USAGE');
  assert.equal(control.maxActive, 1);
});

void test('garbage, wrong versions and unknown ops are answered; the server goes on', async (t) => {
  const s = scratch(t);
  const { server } = await serve(t, s);
  const r = await raw(
    server.path,
    'garbage\n{"v":1,"id":2,"op":"nope"}\n{"v":9,"id":3,"op":"info"}\n[]\n{"v":1,"id":5,"op":"info"}\n',
    5,
  );
  const codes = r.lines.map((l) => (l as { error?: { code: string } }).error?.code ?? 'ok');
  assert.deepEqual(codes, ['E_PROTO_DECODE', 'E_USAGE', 'E_PROTO_VERSION', 'E_PROTO_DECODE', 'ok']);
  assert.equal((r.lines[4] as { id: number }).id, 5);
  assert.equal(server.counters.badRequests, 4);

  // Random bytes, including invalid UTF-8 and NULs, byte soup without newlines then with.
  let seed = 7;
  const soup = Buffer.alloc(20_000);
  for (let i = 0; i < soup.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    soup[i] = seed >>> 24;
  }
  const soupAnswers = await raw(server.path, soup, Infinity, { end: true });
  assert.ok(soupAnswers.closed);
  assert.ok(soupAnswers.lines.length > 0, 'every garbage line was answered');

  const client = await connectProcess(process.pid, { env: s.env });
  t.after(() => client.close());
  assert.equal((await client.info()).pid, process.pid);
});

void test('an oversized request line is refused and that connection closed', async (t) => {
  const s = scratch(t);
  const { server } = await serve(t, s);
  const r = await raw(server.path, 'x'.repeat(MAX_REQUEST_BYTES + 10), 2);
  assert.equal(r.closed, true);
  assert.equal((r.lines[0] as { error: { code: string } }).error.code, 'E_PROTO_DECODE');
  const client = await connectProcess(process.pid, { env: s.env });
  t.after(() => client.close());
  assert.equal((await client.info()).state, 'running');
});

void test('a client that disconnects mid-operation does not disturb the server', async (t) => {
  const s = scratch(t);
  const { control } = await serve(t, s);
  let release!: () => void;
  control.hold = new Promise<void>((r) => (release = r));
  const a = await connectProcess(process.pid, { env: s.env });
  const freezing = a.freeze().catch((e: OsmoError) => e.code);
  a.close();
  assert.equal(await freezing, 'E_IO');
  release();
  const b = await connectProcess(process.pid, { env: s.env });
  t.after(() => b.close());
  // The freeze itself completed inside the process.
  await control.frozen;
  assert.equal((await b.info()).state, 'frozen');
});

void test('connections beyond the cap are refused, the others served', async (t) => {
  const s = scratch(t);
  const control = new FakeControl(process.pid, s.root);
  const server = await startProcessControlServer(control, { env: s.env, maxConnections: 2 });
  t.after(() => server.close());
  const a = await connectProcess(process.pid, { env: s.env });
  const b = await connectProcess(process.pid, { env: s.env });
  await Promise.all([a.info(), b.info()]);
  const c = await connectProcess(process.pid, { env: s.env });
  await assert.rejects(c.info(), (e: OsmoError) => e.code === 'E_IO');
  assert.equal(server.counters.refusedConnections, 1);
  assert.equal((await a.info()).pid, process.pid);
  for (const x of [a, b, c]) x.close();
});

void test('errors that are not OsmoErrors travel as E_INTERNAL', async (t) => {
  const s = scratch(t);
  const control = new FakeControl(process.pid, s.root);
  control.info = () => {
    throw new TypeError('boom');
  };
  const server = await startProcessControlServer(control, { env: s.env });
  t.after(() => server.close());
  const client = await connectProcess(process.pid, { env: s.env });
  t.after(() => client.close());
  await assert.rejects(
    client.info(),
    (e: OsmoError) => e.code === 'E_INTERNAL' && /boom/.test(e.message),
  );
});

void test('a directory with group/other permissions is refused, by server and client', async (t) => {
  const s = scratch(t);
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  chmodSync(s.dir, 0o755);
  await assert.rejects(
    startProcessControlServer(new FakeControl(process.pid, s.root), { env: s.env }),
    (e: OsmoError) => e.code === 'E_CONFIG' && e.message.includes(s.dir) && /0755/.test(e.message),
  );
  await assert.rejects(listProcesses({ env: s.env }), (e: OsmoError) => e.code === 'E_CONFIG');
  await assert.rejects(connectProcess(1, { env: s.env }), (e: OsmoError) => e.code === 'E_CONFIG');
  chmodSync(s.dir, 0o700);
  chmodSync(join(s.env.XDG_RUNTIME_DIR, 'osmosis'), 0o770);
  await assert.rejects(listProcesses({ env: s.env }), (e: OsmoError) => e.code === 'E_CONFIG');
});

void test('a symlink in place of the directory is refused', async (t) => {
  const s = scratch(t);
  mkdirSync(join(s.root, 'elsewhere'), { mode: 0o700 });
  mkdirSync(s.env.XDG_RUNTIME_DIR, { mode: 0o700 });
  symlinkSync(join(s.root, 'elsewhere'), join(s.env.XDG_RUNTIME_DIR, 'osmosis'));
  await assert.rejects(
    startProcessControlServer(new FakeControl(process.pid, s.root), { env: s.env }),
    (e: OsmoError) => e.code === 'E_CONFIG' && /symlink/.test(e.message),
  );
});

void test('a directory owned by another uid is refused (except for root reading)', async (t) => {
  const s = scratch(t);
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  const other = (process.getuid?.() ?? 0) + 1;
  await assert.rejects(
    listProcesses({ env: s.env, uid: other }),
    (e: OsmoError) => e.code === 'E_CONFIG' && e.message.includes(`uid ${other}`),
  );
  assert.deepEqual(await listProcesses({ env: s.env, uid: 0 }), []);
});

void test('no directory yet: ps lists nothing, a pid is E_NO_PROCESS', async (t) => {
  const s = scratch(t);
  assert.deepEqual(await listProcesses({ env: s.env }), []);
  await assert.rejects(
    connectProcess(1234, { env: s.env }),
    (e: OsmoError) =>
      e.code === 'E_NO_PROCESS' &&
      e.message === 'no Osmosis process 1234 of yours on this node (osmo ps lists them)',
  );
  await assert.rejects(connectProcess(0, { env: s.env }), (e: OsmoError) => e.code === 'E_USAGE');
});

void test('listProcesses: several servers, stale sockets removed, silent ones tolerated', async (t) => {
  const s = scratch(t);
  const pids = [process.pid, process.ppid];
  for (const pid of pids) await serve(t, s, pid);
  // A leftover of a process killed before it could clean up.
  const dead = deadPid();
  const stale = join(s.dir, `${dead}.sock`);
  writeFileSync(stale, '');
  // A live pid whose socket accepts but never answers (a stuck process).
  const silentPid = 1;
  // Reads (so it sees the client leave) but never answers.
  const silent = net.createServer((socket) => socket.resume());
  await new Promise<void>((r) => silent.listen(join(s.dir, `${silentPid}.sock`), r));
  t.after(() => new Promise<void>((r) => silent.close(() => r())));
  // Not sockets of ours at all: ignored.
  writeFileSync(join(s.dir, 'notes.txt'), '');

  const skipped: [number, SkipReason][] = [];
  const start = performance.now();
  const list = await listProcesses({
    env: s.env,
    deadlineMs: 300,
    onSkip: (pid, reason) => skipped.push([pid, reason]),
  });
  assert.ok(performance.now() - start < 3_000, 'bounded by the deadline');
  assert.deepEqual(
    list.map((p) => p.pid),
    [...pids].sort((a, b) => a - b),
  );
  assert.deepEqual(
    skipped.sort((a, b) => a[0] - b[0]),
    [
      [silentPid, 'timeout'],
      [dead, 'stale'],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)),
  );
  assert.equal(existsSync(stale), false, 'stale socket removed');
  assert.ok(existsSync(join(s.dir, 'notes.txt')));
});

void test('connectProcess to a dead pid with a leftover socket: E_NO_PROCESS and the file goes', async (t) => {
  const s = scratch(t);
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  chmodSync(join(s.env.XDG_RUNTIME_DIR, 'osmosis'), 0o700);
  const dead = deadPid();
  const stale = join(s.dir, `${dead}.sock`);
  writeFileSync(stale, '');
  await assert.rejects(
    connectProcess(dead, { env: s.env }),
    (e: OsmoError) => e.code === 'E_NO_PROCESS',
  );
  assert.equal(existsSync(stale), false);
});

void test('a stale socket file with our own pid is replaced at start', async (t) => {
  const s = scratch(t);
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  chmodSync(join(s.env.XDG_RUNTIME_DIR, 'osmosis'), 0o700);
  writeFileSync(join(s.dir, `${process.pid}.sock`), 'left over');
  const { server } = await serve(t, s);
  assert.ok(statSync(server.path).isSocket());
  // A second server for the same pid in the same process is refused, not stolen.
  await assert.rejects(
    startProcessControlServer(new FakeControl(process.pid, s.root), { env: s.env }),
    (e: OsmoError) => e.code === 'E_CONFIG' && /already served/.test(e.message),
  );
  const client = await connectProcess(process.pid, { env: s.env });
  t.after(() => client.close());
  assert.equal((await client.info()).pid, process.pid);
});

/** A client whose every write is recorded, as bytes, in `written`. */
async function recordingClient(
  path: string,
): Promise<{ client: ProcessControlClient; written: Buffer[] }> {
  const socket = await openSocket(path, 2_000);
  const written: Buffer[] = [];
  const write = (chunk: string | Uint8Array): boolean =>
    net.Socket.prototype.write.call(socket, chunk);
  // The client writes a string or a Buffer, never with an encoding or a callback.
  Object.defineProperty(socket, 'write', {
    value: (chunk: string | Uint8Array): boolean => {
      written.push(Buffer.from(chunk));
      return write(chunk);
    },
  });
  return { client: new ProcessControlClient(socket, process.pid, path), written };
}

void test('mailbox messages: the first in base64, the rest raw once the process says it takes them', async (t) => {
  const s = scratch(t);
  const { control, server } = await serve(t, s);
  const { client, written } = await recordingClient(server.path);
  t.after(() => client.close());
  const from = { home: 'n1', pid: 7 };
  const messages = [Buffer.from('first\n'), Buffer.from('second\nwith a newline'), Buffer.alloc(0)];
  const big = Buffer.alloc(256 * 1024, 0x5a);
  for (const m of [...messages, big]) await client.deliver(from, m);
  assert.deepEqual(
    control.delivered.map((d) => d.payload.toString('hex')),
    [...messages, big].map((m) => m.toString('hex')),
  );
  assert.deepEqual(control.delivered[0]?.from, from);
  const wire = Buffer.concat(written).toString('latin1');
  assert.ok(wire.includes(`"data":"${messages[0]!.toString('base64')}"`), 'the first in base64');
  assert.equal((wire.match(/"dataBytes":/g) ?? []).length, 3, 'the other three raw');
  assert.ok(!wire.includes(big.subarray(0, 99).toString('base64')), 'no base64 of the big one');
});

void test('a raw deliver sent by hand: its bytes, newlines and all, reach the mailbox', async (t) => {
  const s = scratch(t);
  const { control, server } = await serve(t, s);
  const payload = Buffer.from('a\nb\n\nc');
  const line = `{"v":1,"id":3,"op":"deliver","args":{"fromHome":"n2","fromPid":9,"dataBytes":${payload.length}}}\n`;
  const info = `{"v":1,"id":4,"op":"info"}\n`;
  const { lines } = await raw(
    server.path,
    Buffer.concat([Buffer.from(line), payload, Buffer.from(info)]),
    2,
  );
  assert.deepEqual(lines[0], { v: 1, id: 3, ok: true, result: { queuedBytes: 6, rawData: true } });
  assert.equal((lines[1] as { id: number; ok: boolean }).ok, true, 'the line after the bytes');
  assert.equal(control.delivered[0]?.payload.toString(), 'a\nb\n\nc');
});

void test('a deliver announcing more bytes than a request may have closes the connection', async (t) => {
  const s = scratch(t);
  const { control, server } = await serve(t, s);
  const line = `{"v":1,"id":3,"op":"deliver","args":{"fromHome":"n2","fromPid":9,"dataBytes":${MAX_REQUEST_BYTES + 1}}}\n`;
  const { lines, closed } = await raw(server.path, line, 2); // one answer, then the close
  assert.equal(closed, true);
  assert.equal(lines.length, 1);
  assert.match((lines[0] as { error: { message: string } }).error.message, /longer than/);
  assert.equal(control.delivered.length, 0);
});

void test('a process that never says it takes raw payloads keeps getting base64', async (t) => {
  const s = scratch(t);
  // An older osmo run's control socket: answers deliver without rawData, and would read raw
  // bytes as lines of garbage.
  const path = join(s.root, 'old.sock');
  const seen: unknown[] = [];
  const old = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const parts = text.split('\n');
      text = parts.pop() ?? '';
      for (const p of parts) {
        const request = JSON.parse(p) as { id: number; args: unknown };
        seen.push(request.args);
        socket.write(`{"v":1,"id":${request.id},"ok":true,"result":{"queuedBytes":1}}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => old.listen(path, resolve));
  t.after(() => old.close());
  const client = new ProcessControlClient(await openSocket(path, 2_000), process.pid, path);
  t.after(() => client.close());
  for (const text of ['x', 'y\nz']) await client.deliver({ home: 'n1', pid: 7 }, Buffer.from(text));
  assert.deepEqual(seen, [
    { fromHome: 'n1', fromPid: 7, data: Buffer.from('x').toString('base64') },
    { fromHome: 'n1', fromPid: 7, data: Buffer.from('y\nz').toString('base64') },
  ]);
});
