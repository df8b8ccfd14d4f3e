import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Errno, Eventrwflags, Eventtype, Fdflags, Filetype } from '../../../src/wasi/abi.js';
import type { Subscription } from '../../../src/wasi/abi.js';
import type { Fixture } from './fixture.js';
import { create, errnoOf, makeFixture, must, RO, text } from './fixture.js';

const openAsync = promisify(fs.open);
const C = fs.constants;

const clock = (userdata: bigint, ms: number): Subscription => ({
  userdata,
  type: Eventtype.CLOCK,
  clockId: 1,
  timeout: BigInt(ms) * 1_000_000n,
  precision: 0n,
  flags: 0,
});
const fdRead = (userdata: bigint, fd: number): Subscription => ({
  userdata,
  type: Eventtype.FD_READ,
  fd,
});
const fdWrite = (userdata: bigint, fd: number): Subscription => ({
  userdata,
  type: Eventtype.FD_WRITE,
  fd,
});

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

void describe('HostBackend streams and poll_oneoff', () => {
  let base: Fixture;
  let fifo = '';
  let toClose: number[] = [];
  beforeEach(() => {
    base = makeFixture();
    fifo = path.join(base.base, 'fifo');
    execFileSync('mkfifo', [fifo]);
    toClose = [];
  });
  afterEach(() => {
    for (const fd of toClose) {
      // An fd the backend read as a stream was taken over (and closed) by its event reader.
      try {
        fs.closeSync(fd);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBADF') throw e;
      }
    }
    base.cleanup();
  });

  /** A FIFO with blocking ends: [reader, writer]. */
  async function pipe(): Promise<[number, number]> {
    const [r, w] = await Promise.all([openAsync(fifo, 'r'), openAsync(fifo, 'w')]);
    toClose.push(r, w);
    return [r, w];
  }

  /** A backend whose fd 0/1 are the given host fds. The caller calls cleanup. */
  function withStdio(stdin: number, stdout: number): Fixture {
    return makeFixture([stdin, stdout, base.nullFd]);
  }

  void it('reports pipes as UNKNOWN and refuses to seek them', async () => {
    const [r, w] = await pipe();
    const f = withStdio(r, w);
    try {
      const st = must(await f.b.fdFdstatGet(0));
      assert.equal(st.filetype, Filetype.UNKNOWN);
      assert.equal(must(await f.b.fdFilestatGet(0)).filetype, Filetype.UNKNOWN);
      assert.equal(errnoOf(await f.b.fdSeek(0, 0n, 0)), Errno.SPIPE);
      assert.equal(errnoOf(await f.b.fdTell(1)), Errno.SPIPE);
      assert.equal(errnoOf(await f.b.fdPread(0, new Uint8Array(1), 0n)), Errno.SPIPE);
      assert.equal(errnoOf(await f.b.fdPwrite(1, new Uint8Array(1), 0n)), Errno.SPIPE);
      assert.equal(await f.b.fdSync(1), Errno.INVAL);
    } finally {
      f.cleanup();
    }
  });

  void it('writes and reads through a pipe without blocking the event loop', async () => {
    const [r, w] = await pipe();
    const f = withStdio(r, w);
    try {
      const pending = f.b.fdRead(0, new Uint8Array(10));
      assert.ok(pending instanceof Promise, 'a pipe read is async');
      // The event loop is free while the read waits: a timer still fires.
      await new Promise((res) => setTimeout(res, 20));
      const wrote = f.b.fdWrite(1, Buffer.from('ping'));
      assert.ok(wrote instanceof Promise);
      assert.equal(must(await wrote), 4);
      const got = must(await pending);
      assert.equal(got, 4);
    } finally {
      f.cleanup();
    }
  });

  void it('poll waits for pipe data via a read-ahead that fd_read then consumes in order', async () => {
    const [r, w] = await pipe();
    const f = withStdio(r, base.nullFd);
    try {
      const t0 = performance.now();
      const ev = must(await f.b.pollOneoff([fdRead(1n, 0), clock(2n, 40)]));
      assert.ok(performance.now() - t0 >= 35);
      assert.deepEqual(ev, [
        { userdata: 2n, error: 0, type: Eventtype.CLOCK, nbytes: 0n, flags: 0 },
      ]);

      const p = f.b.pollOneoff([fdRead(1n, 0), clock(2n, 5000)]);
      setTimeout(() => fs.writeSync(w, 'abc'), 10);
      const ev2 = must(await p);
      assert.deepEqual(ev2, [
        { userdata: 1n, error: 0, type: Eventtype.FD_READ, nbytes: 3n, flags: 0 },
      ]);
      assert.equal(timeouts(), 0, 'the 5 s timer was cleared');
      fs.writeSync(w, 'def');
      const buf = new Uint8Array(2);
      assert.equal(must(await f.b.fdRead(0, buf)), 2);
      assert.equal(text(buf), 'ab');
      assert.equal(must(await f.b.fdRead(0, buf)), 1);
      assert.equal(text(buf.subarray(0, 1)), 'c');
      const big = new Uint8Array(10);
      assert.equal(must(await f.b.fdRead(0, big)), 3);
      assert.equal(text(big.subarray(0, 3)), 'def');

      // EOF: HANGUP, then fd_read returns 0.
      fs.closeSync(w);
      toClose = toClose.filter((x) => x !== w);
      const ev3 = must(await f.b.pollOneoff([fdRead(7n, 0)]));
      assert.deepEqual(ev3, [
        {
          userdata: 7n,
          error: 0,
          type: Eventtype.FD_READ,
          nbytes: 0n,
          flags: Eventrwflags.FD_READWRITE_HANGUP,
        },
      ]);
      assert.equal(must(await f.b.fdRead(0, big)), 0);
    } finally {
      f.cleanup();
    }
  });

  void it('guest NONBLOCK reads return AGAIN and start a read-ahead', async () => {
    const [r, w] = await pipe();
    const f = withStdio(r, base.nullFd);
    try {
      assert.equal(await f.b.fdFdstatSetFlags(0, Fdflags.NONBLOCK), 0);
      assert.equal(errnoOf(await f.b.fdRead(0, new Uint8Array(4))), Errno.AGAIN);
      fs.writeSync(w, 'xy');
      must(await f.b.pollOneoff([fdRead(1n, 0)]));
      const buf = new Uint8Array(4);
      assert.equal(must(await f.b.fdRead(0, buf)), 2);
      assert.equal(text(buf.subarray(0, 2)), 'xy');
    } finally {
      fs.closeSync(w); // let any read-ahead finish
      toClose = toClose.filter((x) => x !== w);
      await new Promise((res) => setTimeout(res, 10));
      f.cleanup();
    }
  });

  void it('retries EAGAIN on a host fd that is O_NONBLOCK', async () => {
    const r = fs.openSync(fifo, C.O_RDONLY | C.O_NONBLOCK);
    const w = fs.openSync(fifo, C.O_WRONLY);
    toClose.push(r, w);
    const f = withStdio(r, base.nullFd);
    try {
      const buf = new Uint8Array(8);
      const p = f.b.fdRead(0, buf);
      setTimeout(() => fs.writeSync(w, 'late'), 30);
      assert.equal(must(await p), 4);
      assert.equal(text(buf.subarray(0, 4)), 'late');
      // A poll on it uses the same retry loop.
      const pp = f.b.pollOneoff([fdRead(3n, 0)]);
      setTimeout(() => fs.writeSync(w, 'more'), 20);
      assert.equal(must(await pp)[0]!.nbytes, 4n);
    } finally {
      f.cleanup();
    }
    assert.equal(timeouts(), 0, 'no backoff timer left after closeAll');
  });

  void it('gives PIPE when the reader is gone', async () => {
    const r = fs.openSync(fifo, C.O_RDONLY | C.O_NONBLOCK);
    const w = fs.openSync(fifo, C.O_WRONLY);
    fs.closeSync(r);
    toClose.push(w);
    const f = withStdio(base.nullFd, w);
    try {
      assert.equal(errnoOf(await f.b.fdWrite(1, Buffer.from('x'))), Errno.PIPE);
    } finally {
      f.cleanup();
    }
  });

  void it('path_open of a FIFO waits for the writer in the thread pool', async () => {
    const f = base;
    const inRoot = path.join(f.root, 'chan');
    execFileSync('mkfifo', [inRoot]);
    const opening = f.b.pathOpen(3, 1, 'chan', 0, RO, RO, 0);
    assert.ok(opening instanceof Promise, 'opening a FIFO must not block the event loop');
    // This sync open returns once the backend's open in the thread pool reached the FIFO.
    const w = fs.openSync(inRoot, C.O_WRONLY);
    fs.writeSync(w, 'z');
    fs.closeSync(w);
    const fd = must(await opening);
    assert.equal(must(await f.b.fdFdstatGet(fd)).filetype, Filetype.UNKNOWN);
    const buf = new Uint8Array(4);
    assert.equal(must(await f.b.fdRead(fd, buf)), 1);
    assert.equal(text(buf.subarray(0, 1)), 'z');
    assert.equal(must(await f.b.fdRead(fd, buf)), 0);
    assert.equal(await f.b.fdClose(fd), 0);
  });

  void it('poll: files ready at once, bad fds as events, no subscriptions is INVAL', async () => {
    const f = base;
    const fd = await create(f, 'data', '0123456789');
    must(await f.b.fdSeek(fd, 4n, 0));
    const ev = must(
      await f.b.pollOneoff([fdRead(1n, fd), fdWrite(2n, fd), fdRead(3n, 99), clock(4n, 1000)]),
    );
    assert.deepEqual(ev, [
      { userdata: 1n, error: 0, type: Eventtype.FD_READ, nbytes: 6n, flags: 0 },
      { userdata: 2n, error: 0, type: Eventtype.FD_WRITE, nbytes: 0n, flags: 0 },
      { userdata: 3n, error: Errno.BADF, type: Eventtype.FD_READ, nbytes: 0n, flags: 0 },
    ]);
    assert.equal(errnoOf(await f.b.pollOneoff([])), Errno.INVAL);
    assert.equal(must(await f.b.pollOneoff([fdWrite(9n, 1)]))[0]!.error, 0);
  });

  void it('poll: the earliest clock fires alone, a zero timeout at once, timers are cleared', async () => {
    const f = base;
    const before = timeouts();
    const t0 = performance.now();
    const ev = must(await f.b.pollOneoff([clock(1n, 500), clock(2n, 15), clock(3n, 1000)]));
    const ms = performance.now() - t0;
    assert.deepEqual(
      ev.map((e) => e.userdata),
      [2n],
    );
    assert.ok(ms >= 14 && ms < 400, `took ${ms} ms`);
    assert.equal(timeouts(), before);
    const zero = f.b.pollOneoff([clock(5n, 0), clock(6n, 100)]);
    assert.ok(!(zero instanceof Promise), 'an expired clock is answered synchronously');
    assert.deepEqual(
      must(zero).map((e) => e.userdata),
      [5n],
    );
  });

  void it('closeAll settles a pending poll with CANCELED and clears its timer', async () => {
    const f = makeFixture();
    const p = f.b.pollOneoff([clock(1n, 60_000)]);
    f.cleanup();
    assert.equal(errnoOf(await p), Errno.CANCELED);
    assert.equal(timeouts(), 0);
  });
});
