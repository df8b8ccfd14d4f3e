/**
 * The mailbox queue (ADR 0021): records read as a byte stream in any buffer size, a waiting read
 * released by a message or given up by a suspension, a full mailbox refusing, and the records an
 * image carries put back first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAILBOX_HEADER_BYTES, Mailbox, encodeRecord } from '../../../src/deputy/mailbox.js';
import { MailboxSendEnd } from '../../../src/deputy/mailbox-fds.js';
import type { SendOutcome } from '../../../src/deputy/mailbox-fds.js';
import { Errno } from '../../../src/wasi/abi.js';
import type { Result } from '../../../src/wasi/backend.js';

const from = { home: 'n2', pid: 4321 };

function readAll(box: Mailbox, chunk: number): Buffer {
  const parts: Buffer[] = [];
  for (;;) {
    const dest = new Uint8Array(chunk);
    const r = box.tryRead(dest);
    if (r === undefined) return Buffer.concat(parts);
    assert.ok(r.ok);
    parts.push(Buffer.from(dest.subarray(0, r.value)));
  }
}

void test('a record is the 72-byte header (length, pid, home) and the payload', () => {
  const r = encodeRecord(from, Buffer.from('hello'));
  assert.equal(r.length, MAILBOX_HEADER_BYTES + 5);
  assert.equal(r.readUInt32LE(0), 5);
  assert.equal(r.readUInt32LE(4), 4321);
  assert.equal(r.subarray(8, 10).toString(), 'n2');
  assert.ok(r.subarray(10, 72).every((b) => b === 0));
  assert.equal(r.subarray(72).toString(), 'hello');
});

void test('messages come out whole and in order, whatever the read size', () => {
  for (const chunk of [1, 7, 72, 100, 4096]) {
    const box = new Mailbox();
    const payloads = ['a', '', 'ccc'.repeat(50), 'd'];
    for (const p of payloads) assert.equal(box.accept(from, Buffer.from(p)), 'queued');
    const expected = Buffer.concat(payloads.map((p) => encodeRecord(from, Buffer.from(p))));
    assert.deepEqual(readAll(box, chunk), expected, `reads of ${chunk} bytes`);
    assert.equal(box.queuedBytes, 0);
  }
});

void test('a waiting read is answered by the next message', async () => {
  const box = new Mailbox();
  const dest = new Uint8Array(200);
  const pending = box.read(dest, false);
  assert.ok(pending instanceof Promise);
  box.accept(from, Buffer.from('late'));
  const r = await pending;
  assert.deepEqual(r, { ok: true, value: MAILBOX_HEADER_BYTES + 4 });
});

void test('a suspension makes a waiting read give up with INTR, consuming nothing', async () => {
  const box = new Mailbox();
  const pending = box.read(new Uint8Array(10), false) as Promise<Result<number>>;
  box.cancel();
  assert.deepEqual(await pending, { ok: false, errno: Errno.INTR });
  box.accept(from, Buffer.from('x'));
  assert.equal(box.queuedBytes, MAILBOX_HEADER_BYTES + 1);
});

void test('a non-blocking read of an empty mailbox is AGAIN; readiness tells the bytes', () => {
  const box = new Mailbox();
  assert.deepEqual(box.read(new Uint8Array(4), true), { ok: false, errno: Errno.AGAIN });
  assert.equal(box.readiness(), undefined);
  box.accept(from, Buffer.from('xy'));
  assert.deepEqual(box.readiness(), { nbytes: MAILBOX_HEADER_BYTES + 2, hangup: false, error: 0 });
});

void test('a full mailbox refuses, but an empty one takes even an oversized message', () => {
  const box = new Mailbox(200);
  assert.equal(box.accept(from, Buffer.alloc(100)), 'queued');
  assert.equal(box.accept(from, Buffer.alloc(100)), 'full');
  readAll(box, 1000);
  assert.equal(box.accept(from, Buffer.alloc(1000)), 'queued');
});

void test('what is pending, half-read first record included, comes back first after a restart', () => {
  const box = new Mailbox();
  box.accept(from, Buffer.from('first'));
  box.accept(from, Buffer.from('second'));
  const head = new Uint8Array(10);
  box.tryRead(head);
  const image = box.pending().map((r) => Buffer.from(r));
  const again = new Mailbox();
  again.restore(image);
  again.accept(from, Buffer.from('third'));
  const rest = readAll(again, 64);
  const expected = Buffer.concat([
    encodeRecord(from, Buffer.from('first')).subarray(10),
    encodeRecord(from, Buffer.from('second')),
    encodeRecord(from, Buffer.from('third')),
  ]);
  assert.deepEqual(rest, expected);
});

void test('a closed mailbox ends waiting reads with BADF', async () => {
  const box = new Mailbox();
  const pending = box.read(new Uint8Array(10), false) as Promise<Result<number>>;
  box.close();
  assert.deepEqual(await pending, { ok: false, errno: Errno.BADF });
  assert.equal(box.isClosed, true);
});

void test('a write to a full mailbox waits and tries again; a non-blocking one is AGAIN', async () => {
  const outcomes: SendOutcome[] = ['full', 'full', 'queued'];
  let tries = 0;
  const end = new MailboxSendEnd(() => {
    tries++;
    return Promise.resolve(outcomes.shift() ?? 'queued');
  });
  assert.deepEqual(await end.write(Buffer.from('abc'), false), { ok: true, value: 3 });
  assert.equal(tries, 3);
  const refusing = new MailboxSendEnd(() => Promise.resolve('full'));
  assert.deepEqual(await refusing.write(Buffer.from('abc'), true), {
    ok: false,
    errno: Errno.AGAIN,
  });
  // Closing the fd ends a write still waiting for room.
  const waiting = refusing.write(Buffer.from('abc'), false);
  refusing.close();
  assert.deepEqual(await waiting, { ok: false, errno: Errno.BADF });
});
