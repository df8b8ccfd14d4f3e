import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeScratch, removeScratch } from '../../helpers/osmo.js';
import { ControlServer } from '../../../src/daemon/control-server.js';
import { ControlClient, requestOnce } from '../../../src/daemon/control-client.js';
import type { ControlRequest } from '../../../src/daemon/control-protocol.js';
import { Logger } from '../../../src/platform/logger.js';
import { isOsmoError } from '../../../src/core/errors.js';

void test("the users' socket: open to all, its directory opened, administration refused", async (t) => {
  const dir = makeScratch();
  t.after(() => removeScratch(dir));
  const run = join(dir, 'run');
  const lines: string[] = [];
  const log = new Logger({ write: (line) => lines.push(line) }, 'info', {});
  const handler = (r: { op: string }) => ({ served: r.op });
  // The control socket first, as the daemon does: it makes the shared directory 0700.
  const own = await ControlServer.listen(join(run, 'daemon.sock'), handler, log);
  t.after(() => own.close());
  assert.equal(statSync(run).mode & 0o777, 0o700);
  const users = await ControlServer.listen(join(run, 'users.sock'), handler, log, {
    forUsers: true,
  });
  t.after(() => users.close());
  assert.equal(statSync(run).mode & 0o777, 0o755, 'the directory is opened to other users');
  assert.equal(
    statSync(join(run, 'daemon.sock')).mode & 0o777,
    0o600,
    'the control socket stays private',
  );
  assert.equal(statSync(join(run, 'users.sock')).mode & 0o777, 0o666);
  assert.ok(lines.some((l) => l.includes('usersSocket directory opened to other users')));

  assert.deepEqual(await requestOnce(join(run, 'users.sock'), 'status'), { served: 'status' });
  await assert.rejects(
    requestOnce(join(run, 'users.sock'), 'admin', { action: 'block' }),
    (e: unknown) => isOsmoError(e) && e.code === 'E_USAGE' && /administrator/.test(e.message),
  );
  assert.deepEqual(await requestOnce(join(run, 'daemon.sock'), 'admin', { action: 'block' }), {
    served: 'admin',
  });
  // A directory of another owner is left as it is, with a warning (root only: chown).
  if (process.getuid?.() !== 0) return;
  const foreign = join(dir, 'foreign');
  mkdirSync(foreign, { mode: 0o700 });
  chownSync(foreign, 65534, 65534);
  const there = await ControlServer.listen(join(foreign, 'users.sock'), handler, log, {
    forUsers: true,
  });
  t.after(() => there.close());
  assert.equal(statSync(foreign).mode & 0o777, 0o700);
  assert.ok(lines.some((l) => l.includes('usersSocket directory is closed to other users')));
});

void test('deliver: bytes in base64 until the daemon says it takes them raw, then after the line', async (t) => {
  const dir = makeScratch();
  t.after(() => removeScratch(dir));
  const log = new Logger({ write: () => undefined }, 'error', {});
  const got: { args?: Record<string, unknown>; payload?: string }[] = [];
  const handler = (r: ControlRequest): unknown => {
    got.push({ args: r.args, ...(r.payload !== undefined && { payload: r.payload.toString() }) });
    return { queuedBytes: 1, rawData: true };
  };
  const path = join(dir, 'daemon.sock');
  const server = await ControlServer.listen(path, handler, log);
  t.after(() => server.close());
  const client = await ControlClient.connect(path);
  t.after(() => client.close());
  for (const text of ['one', 'two\nlines', ''])
    await client.request('deliver', 5_000, { pid: 3 }, { payload: Buffer.from(text) });
  assert.deepEqual(got, [
    { args: { pid: 3, data: Buffer.from('one').toString('base64') } },
    { args: { pid: 3, dataBytes: 9 }, payload: 'two\nlines' },
    { args: { pid: 3, dataBytes: 0 }, payload: '' },
  ]);
});
