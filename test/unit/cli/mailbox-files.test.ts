/**
 * /proc/mailbox through the real HostBackend, two "processes" in this one: the paths a program
 * may open and how, one message per write with its sender in the header, the errors a sender
 * sees, and a mailbox fd made again from an image's description.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OsmoError } from '../../../src/core/errors.js';
import { outcomeOf } from '../../../src/cli/mailbox-delivery.js';
import { MAILBOX_DIR, MailboxFiles } from '../../../src/cli/mailbox-files.js';
import type { MailboxAddress } from '../../../src/cli/mailbox-files.js';
import { HostBackend } from '../../../src/deputy/host-backend.js';
import { MAILBOX_HEADER_BYTES, MAX_MESSAGE_BYTES } from '../../../src/deputy/mailbox.js';
import { Errno, Filetype, Oflags, Rights } from '../../../src/wasi/abi.js';
import type { Result } from '../../../src/wasi/backend.js';

const READ = Rights.FD_READ | Rights.POLL_FD_READWRITE | Rights.FD_FILESTAT_GET;
const WRITE = Rights.FD_WRITE | Rights.POLL_FD_READWRITE;

interface Proc {
  files: MailboxFiles;
  backend: HostBackend;
  /** The fd of the /proc/mailbox preopen. */
  dirFd: number;
}

function proc(t: { after: (fn: () => void) => void }, parent: string): Proc {
  const files = new MailboxFiles(parent);
  const preopens = files.placeIn([]);
  const backend = new HostBackend({ preopens, special: files });
  t.after(() => {
    backend.closeAll();
    files.remove();
  });
  assert.equal(preopens[0]!.guestPath, MAILBOX_DIR);
  return { files, backend, dirFd: 3 };
}

async function open(p: Proc, path: string, rights: bigint): Promise<Result<number>> {
  return p.backend.pathOpen(p.dirFd, 0, path, 0, rights, 0n, 0);
}

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'osmo-mailbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Connects `from`'s sends to `to`'s mailbox, as the control socket would. */
function wire(from: Proc, to: Proc, fromPid: number, seen: MailboxAddress[] = []): void {
  from.files.deliver = (address, payload) => {
    seen.push(address);
    try {
      to.files.accept({ home: 'n1', pid: fromPid }, payload);
      return Promise.resolve('queued');
    } catch (e) {
      return Promise.resolve(outcomeOf(e));
    }
  };
}

void test('each write is one message, read back with its sender', async (t) => {
  const dir = scratch(t);
  const a = proc(t, dir);
  const b = proc(t, dir);
  const seen: MailboxAddress[] = [];
  wire(a, b, 77, seen);
  const inbox = await open(b, 'self', READ);
  assert.ok(inbox.ok);
  const out = await open(a, 'n2/1234', WRITE);
  assert.ok(out.ok);
  for (const text of ['one', 'two']) {
    assert.deepEqual(await a.backend.fdWrite(out.value, Buffer.from(text)), {
      ok: true,
      value: text.length,
    });
  }
  assert.deepEqual(seen, [
    { home: 'n2', pid: 1234 },
    { home: 'n2', pid: 1234 },
  ]);
  const dest = new Uint8Array(1000);
  const r = await b.backend.fdRead(inbox.value, dest);
  assert.ok(r.ok);
  assert.equal(r.value, 2 * MAILBOX_HEADER_BYTES + 6);
  const got = Buffer.from(dest.subarray(0, r.value));
  assert.equal(got.readUInt32LE(0), 3);
  assert.equal(got.readUInt32LE(4), 77);
  assert.equal(got.subarray(8, 10).toString(), 'n1');
  assert.equal(got.subarray(72, 75).toString(), 'one');
  assert.equal(got.subarray(75 + 72).toString(), 'two');
  // fstat: a character device; a plain PID names a process of the same home.
  const st = b.backend.fdFilestatGet(inbox.value);
  assert.ok(st.ok);
  assert.equal(st.value.filetype, Filetype.CHARACTER_DEVICE);
  const local = await open(a, '1234', WRITE);
  assert.ok(local.ok);
  await a.backend.fdWrite(local.value, Buffer.from('x'));
  assert.deepEqual(seen.at(-1), { home: undefined, pid: 1234 });
});

void test('a sender is told ESRCH without a mailbox there, MSGSIZE for a message too large', async (t) => {
  const dir = scratch(t);
  const a = proc(t, dir);
  const b = proc(t, dir);
  wire(a, b, 77);
  const out = await open(a, '1234', WRITE);
  assert.ok(out.ok);
  assert.deepEqual(await a.backend.fdWrite(out.value, Buffer.from('x')), {
    ok: false,
    errno: Errno.SRCH,
  });
  const inbox = await open(b, 'self', READ);
  assert.ok(inbox.ok);
  assert.deepEqual(await a.backend.fdWrite(out.value, Buffer.alloc(MAX_MESSAGE_BYTES + 1)), {
    ok: false,
    errno: Errno.MSGSIZE,
  });
  // Closing the last fd of a mailbox ends it.
  assert.equal(b.backend.fdClose(inbox.value), 0);
  assert.deepEqual(await a.backend.fdWrite(out.value, Buffer.from('x')), {
    ok: false,
    errno: Errno.SRCH,
  });
});

void test('paths and access: self only for reading, senders only for writing, others absent', async (t) => {
  const a = proc(t, scratch(t));
  assert.deepEqual(await open(a, 'self', WRITE), { ok: false, errno: Errno.ACCES });
  assert.deepEqual(await open(a, 'n2/12', READ), { ok: false, errno: Errno.ACCES });
  for (const bad of ['n2', 'n2/x', 'n2/0', 'a/b/12', 'bad name/12', 'n2/99999999999']) {
    assert.deepEqual(await open(a, bad, WRITE), { ok: false, errno: Errno.NOENT }, bad);
  }
  assert.deepEqual(await open(a, '../12', WRITE), { ok: false, errno: Errno.NOTCAPABLE });
  // The directory itself is the host's: it lists `self`.
  const d = await a.backend.pathOpen(a.dirFd, 0, '.', Oflags.DIRECTORY, Rights.FD_READDIR, 0n, 0);
  assert.ok(d.ok);
  const listing = a.backend.fdReaddir(d.value, 0n, 4096);
  assert.ok(listing.ok);
  assert.ok(listing.value.some((e) => Buffer.from(e.name).toString() === 'self'));
});

void test('a mailbox fd and its waiting messages come back from an image description', async (t) => {
  const dir = scratch(t);
  const a = proc(t, dir);
  const b = proc(t, dir);
  wire(a, b, 77);
  const inbox = await open(b, 'self', READ);
  const out = await open(a, '5/6', WRITE);
  assert.ok(inbox.ok && out.ok);
  await a.backend.fdWrite(out.value, Buffer.from('kept'));
  const described = b.backend.describeFds().find((d) => d.fd === inbox.value)!;
  assert.equal(described.special, 'self');
  assert.equal(described.stdio, false);
  const sender = a.backend.describeFds().find((d) => d.fd === out.value)!;
  assert.equal(sender.special, '5/6');

  const restarted = proc(t, dir);
  restarted.files.carry(b.files.pending().map((r) => Buffer.from(r)));
  restarted.backend.restoreFd(described, false);
  const dest = new Uint8Array(100);
  const r = await restarted.backend.fdRead(inbox.value, dest);
  assert.deepEqual(r, { ok: true, value: MAILBOX_HEADER_BYTES + 4 });
  assert.equal(Buffer.from(dest.subarray(72, 76)).toString(), 'kept');
});

void test('delivery failures map to the errno a sender sees', () => {
  assert.equal(outcomeOf(new OsmoError('E_NO_PROCESS', 'x')), Errno.SRCH);
  assert.equal(outcomeOf(new OsmoError('E_AUTH', 'x')), Errno.ACCES);
  assert.equal(outcomeOf(new OsmoError('E_REFUSED', 'x', { details: { reason: 'full' } })), 'full');
  assert.equal(outcomeOf(new OsmoError('E_NO_NODE', 'x')), Errno.HOSTUNREACH);
  assert.equal(outcomeOf(new Error('x')), Errno.IO);
});
