import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeScratch, removeScratch } from '../../helpers/osmo.js';
import { requireSameOwner } from '../../../src/daemon/same-owner.js';
import { isOsmoError } from '../../../src/core/errors.js';

void test('requireSameOwner: a program registers only with a socket of its own user', async (t) => {
  const dir = makeScratch();
  t.after(() => removeScratch(dir));
  const mine = join(dir, 'mine.sock');
  writeFileSync(mine, ''); // ownership is what counts, not the file's kind
  requireSameOwner({ pid: process.pid, socket: mine });
  assert.throws(
    () => requireSameOwner({ pid: process.pid, socket: join(dir, 'none.sock') }),
    (e: unknown) => isOsmoError(e) && /no control socket at/.test(e.message),
  );
  if (process.getuid?.() !== 0) return t.skip('the other-user case needs root');
  // A process of another user (nobody, set before exec) cannot register with this user's socket.
  const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString());
  const other = spawn('sleep', ['30'], { uid: nobody, gid: nobody, stdio: 'ignore' });
  t.after(() => other.kill('SIGKILL'));
  await new Promise((resolve) => other.once('spawn', resolve));
  assert.throws(
    () => requireSameOwner({ pid: other.pid, socket: mine }),
    (e: unknown) => isOsmoError(e) && /belong to different users/.test(e.message),
  );
});
