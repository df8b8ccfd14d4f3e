import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  Errno,
  Fdflags,
  Filetype,
  Fstflags,
  Oflags,
  Rights,
  RIGHTS_DIRECTORY,
  RIGHTS_DIRECTORY_INHERITING,
  Whence,
} from '../../../src/wasi/abi.js';
import type { Fixture } from './fixture.js';
import { create, errnoOf, makeFixture, must, open, PRE, RO, RW, text } from './fixture.js';

void describe('HostBackend fd table and fd operations', () => {
  let f: Fixture;
  beforeEach(() => {
    f = makeFixture();
  });
  afterEach(() => f.cleanup());
  const host = (p: string): string => path.join(f.root, p);

  void it('sets up stdio and preopens as fds 0..3', async () => {
    const s0 = must(await f.b.fdFdstatGet(0));
    assert.equal(s0.filetype, Filetype.CHARACTER_DEVICE);
    // /dev/null is seekable (as on Linux), which keeps wasi-libc's isatty() false.
    assert.equal(s0.rightsBase & Rights.FD_SEEK, Rights.FD_SEEK);
    const pre = must(await f.b.fdFdstatGet(PRE));
    assert.equal(pre.filetype, Filetype.DIRECTORY);
    assert.equal(pre.rightsBase, RIGHTS_DIRECTORY);
    assert.equal(pre.rightsInheriting, RIGHTS_DIRECTORY_INHERITING);
    assert.equal(text(must(await f.b.fdPrestatName(PRE))), '/sandbox');
    assert.equal(errnoOf(await f.b.fdPrestatName(1)), Errno.BADF);
    assert.equal(errnoOf(await f.b.fdPrestatName(4)), Errno.BADF);
    assert.equal(errnoOf(await f.b.fdFdstatGet(4)), Errno.BADF);
  });

  void it('reads and writes at the tracked offset; seek and tell', async () => {
    const fd = await create(f, 'f.txt', 'hello world');
    assert.equal(must(await f.b.fdTell(fd)), 11n);
    assert.equal(must(await f.b.fdSeek(fd, 6n, Whence.SET)), 6n);
    const buf = new Uint8Array(100);
    assert.equal(must(await f.b.fdRead(fd, buf)), 5);
    assert.equal(text(buf.subarray(0, 5)), 'world');
    assert.equal(must(await f.b.fdRead(fd, buf)), 0);
    assert.equal(must(await f.b.fdSeek(fd, -5n, Whence.END)), 6n);
    assert.equal(must(await f.b.fdSeek(fd, -1n, Whence.CUR)), 5n);
    must(await f.b.fdWrite(fd, Buffer.from('_')));
    assert.equal(fs.readFileSync(host('f.txt'), 'utf8'), 'hello_world');
    assert.equal(errnoOf(await f.b.fdSeek(fd, -100n, Whence.CUR)), Errno.INVAL);
    assert.equal(errnoOf(await f.b.fdSeek(fd, 0n, 7)), Errno.INVAL);
    assert.equal(must(await f.b.fdTell(fd)), 6n, 'a failed seek leaves the offset alone');
    // Seeking past the end and writing leaves a hole.
    must(await f.b.fdSeek(fd, 20n, Whence.SET));
    must(await f.b.fdWrite(fd, Buffer.from('!')));
    assert.equal(fs.statSync(host('f.txt')).size, 21);
  });

  void it('pread and pwrite do not move the offset', async () => {
    const fd = await create(f, 'p.txt', 'abcdef');
    must(await f.b.fdSeek(fd, 1n, Whence.SET));
    const buf = new Uint8Array(3);
    assert.equal(must(await f.b.fdPread(fd, buf, 3n)), 3);
    assert.equal(text(buf), 'def');
    assert.equal(must(await f.b.fdPwrite(fd, Buffer.from('XY'), 4n)), 2);
    assert.equal(must(await f.b.fdTell(fd)), 1n);
    assert.equal(fs.readFileSync(host('p.txt'), 'utf8'), 'abcdXY');
    assert.equal(errnoOf(await f.b.fdPread(fd, buf, -1n)), Errno.INVAL);
    assert.equal(errnoOf(await f.b.fdPread(PRE, buf, 0n)), Errno.NOTCAPABLE);
  });

  void it('emulates APPEND, toggled by fd_fdstat_set_flags', async () => {
    fs.writeFileSync(host('log'), '123');
    const fd = must(await open(f, 'log', 0, RW, Fdflags.APPEND));
    assert.equal(must(await f.b.fdFdstatGet(fd)).flags, Fdflags.APPEND);
    must(await f.b.fdSeek(fd, 0n, Whence.SET));
    must(await f.b.fdWrite(fd, Buffer.from('45')));
    assert.equal(must(await f.b.fdTell(fd)), 5n);
    fs.appendFileSync(host('log'), 'x'); // someone else appends meanwhile
    must(await f.b.fdWrite(fd, Buffer.from('6')));
    assert.equal(fs.readFileSync(host('log'), 'utf8'), '12345x6');
    assert.equal(f.b.fdFdstatSetFlags(fd, 0), 0);
    must(await f.b.fdSeek(fd, 0n, Whence.SET));
    must(await f.b.fdWrite(fd, Buffer.from('A')));
    assert.equal(fs.readFileSync(host('log'), 'utf8'), 'A2345x6');
    assert.equal(f.b.fdFdstatSetFlags(fd, 64), Errno.INVAL);
    // SYNC is accepted (emulated with fsync after each write).
    assert.equal(f.b.fdFdstatSetFlags(fd, Fdflags.SYNC | Fdflags.DSYNC), 0);
    must(await f.b.fdWrite(fd, Buffer.from('B')));
    assert.equal(fs.readFileSync(host('log'), 'utf8'), 'AB345x6');
  });

  void it('checks rights on every operation and only lets them shrink', async () => {
    fs.writeFileSync(host('r'), 'data');
    const fd = must(await open(f, 'r', 0, RO));
    assert.equal(errnoOf(await f.b.fdWrite(fd, Buffer.from('x'))), Errno.NOTCAPABLE);
    assert.equal(await f.b.fdFilestatSetSize(fd, 0n), Errno.NOTCAPABLE);
    assert.equal(must(await f.b.fdRead(fd, new Uint8Array(4))), 4);
    const noRead = RO & ~Rights.FD_READ;
    assert.equal(await f.b.fdFdstatSetRights(fd, noRead, 0n), 0);
    assert.equal(errnoOf(await f.b.fdRead(fd, new Uint8Array(4))), Errno.NOTCAPABLE);
    assert.equal(await f.b.fdFdstatSetRights(fd, RO, 0n), Errno.NOTCAPABLE);
    assert.equal(must(await f.b.fdFdstatGet(fd)).rightsBase, noRead);
    assert.equal(await f.b.fdFdstatSetRights(99, 0n, 0n), Errno.BADF);
    // Asking path_open for more than the directory hands down.
    assert.equal(errnoOf(await open(f, 'r', 0, RW | Rights.SOCK_ACCEPT)), Errno.NOTCAPABLE);
    // A directory without PATH_OPEN opens nothing.
    const pre = RIGHTS_DIRECTORY & ~Rights.PATH_OPEN;
    assert.equal(await f.b.fdFdstatSetRights(PRE, pre, RIGHTS_DIRECTORY_INHERITING), 0);
    assert.equal(errnoOf(await open(f, 'r')), Errno.NOTCAPABLE);
    // Directories cannot be read or written as files.
    assert.equal(errnoOf(await f.b.fdRead(PRE, new Uint8Array(1))), Errno.NOTCAPABLE);
    assert.equal(errnoOf(await f.b.fdWrite(PRE, new Uint8Array(1))), Errno.NOTCAPABLE);
  });

  void it('allocates the lowest free fd, renumbers and closes (preopens too)', async () => {
    const a = await create(f, 'a', 'A');
    const b = await create(f, 'b', 'B');
    assert.deepEqual([a, b], [4, 5]);
    assert.equal(await f.b.fdClose(a), 0);
    assert.equal(await f.b.fdClose(a), Errno.BADF);
    const c = await create(f, 'c', 'C');
    assert.equal(c, 4);
    assert.equal(await f.b.fdRenumber(9, 4), Errno.BADF);
    assert.equal(await f.b.fdRenumber(5, 9), Errno.BADF);
    assert.equal(await f.b.fdRenumber(5, 4), 0);
    assert.equal(errnoOf(await f.b.fdFdstatGet(5)), Errno.BADF);
    const buf = new Uint8Array(1);
    assert.equal(must(await f.b.fdPread(4, buf, 0n)), 1);
    assert.equal(text(buf), 'B');
    assert.equal(await f.b.fdRenumber(4, 4), 0);
    assert.equal(await f.b.fdClose(PRE), 0);
    assert.equal(errnoOf(await f.b.fdPrestatName(PRE)), Errno.BADF);
    assert.equal(await create(f, 'd').catch(() => -1), -1, 'no preopen left to open from');
  });

  void it('fd_filestat_get / set_size / set_times / allocate', async () => {
    const fd = await create(f, 's', '12345');
    const st = must(await f.b.fdFilestatGet(fd));
    const real = fs.statSync(host('s'), { bigint: true });
    assert.equal(st.filetype, Filetype.REGULAR_FILE);
    assert.equal(st.size, 5n);
    assert.equal(st.ino, real.ino);
    assert.equal(st.dev, real.dev);
    assert.equal(st.nlink, 1n);
    assert.equal(st.mtim, real.mtimeNs);

    assert.equal(await f.b.fdFilestatSetSize(fd, 2n), 0);
    assert.equal(fs.readFileSync(host('s'), 'utf8'), '12');
    assert.equal(await f.b.fdFilestatSetSize(fd, -1n), Errno.INVAL);

    assert.equal(await f.b.fdAllocate(fd, 8n, 2n), 0);
    assert.equal(fs.statSync(host('s')).size, 10);
    assert.equal(await f.b.fdAllocate(fd, 0n, 1n), 0);
    assert.equal(fs.statSync(host('s')).size, 10, 'allocate never shrinks');
    assert.equal(await f.b.fdAllocate(fd, 0n, 0n), Errno.INVAL);

    const t = 1_500_000_000_123_456_000n;
    assert.equal(
      await f.b.fdFilestatSetTimes(fd, t, t + 1_000_000_000n, Fstflags.ATIM | Fstflags.MTIM),
      0,
    );
    const after = fs.statSync(host('s'), { bigint: true });
    assert.ok(after.atimeNs - t < 1000n && t - after.atimeNs < 1000n, `atime ${after.atimeNs}`);
    assert.ok(after.mtimeNs - t - 1_000_000_000n < 1000n, `mtime ${after.mtimeNs}`);
    // Only MTIM_NOW: atime kept.
    assert.equal(await f.b.fdFilestatSetTimes(fd, 0n, 0n, Fstflags.MTIM_NOW), 0);
    const now = fs.statSync(host('s'), { bigint: true });
    assert.equal(now.atimeNs, after.atimeNs);
    assert.ok(now.mtimeNs > BigInt(Date.now() - 10_000) * 1_000_000n);
    assert.equal(
      await f.b.fdFilestatSetTimes(fd, 0n, 0n, Fstflags.ATIM | Fstflags.ATIM_NOW),
      Errno.INVAL,
    );
    assert.equal(
      await f.b.fdFilestatSetTimes(fd, 0n, 0n, Fstflags.MTIM | Fstflags.MTIM_NOW),
      Errno.INVAL,
    );
  });

  void it('advise, sync and datasync', async () => {
    const fd = await create(f, 'x', 'x');
    assert.equal(await f.b.fdAdvise(fd, 0n, 10n, 3), 0);
    assert.equal(await f.b.fdAdvise(fd, 0n, 10n, 6), Errno.INVAL);
    assert.equal(await f.b.fdSync(fd), 0);
    assert.equal(await f.b.fdDatasync(fd), 0);
    assert.equal(await f.b.fdSync(PRE), 0);
    assert.equal(await f.b.fdDatasync(PRE), Errno.NOTCAPABLE);
    assert.equal(await f.b.fdSync(1), Errno.INVAL, 'fsync on /dev/null is EINVAL on Linux');
    assert.equal(await f.b.fdSync(42), Errno.BADF);
  });

  void it('writes to /dev/null synchronously and cheaply', async () => {
    const data = new Uint8Array(64);
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      const r = f.b.fdWrite(1, data);
      if (r instanceof Promise || !r.ok || r.value !== 64) assert.fail('slow or failed write');
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 10_000, `1M writes took ${ms} ms`);
    // Seeking /dev/null works and always yields 0.
    assert.equal(must(await f.b.fdSeek(1, 100n, Whence.SET)), 0n);
  });

  void it('rejects socket calls with BADF or NOTSOCK', async () => {
    assert.equal(errnoOf(await f.b.sockSend(77, new Uint8Array(1), 0)), Errno.BADF);
    assert.equal(errnoOf(await f.b.sockSend(PRE, new Uint8Array(1), 0)), Errno.NOTSOCK);
    assert.equal(errnoOf(await f.b.sockRecv(1, new Uint8Array(1), 0)), Errno.NOTSOCK);
    assert.equal(errnoOf(await f.b.sockAccept(77, 0)), Errno.BADF);
    assert.equal(errnoOf(await f.b.sockAccept(0, 0)), Errno.NOTSOCK);
    assert.equal(await f.b.sockShutdown(77, 1), Errno.BADF);
    assert.equal(await f.b.sockShutdown(2, 1), Errno.NOTSOCK);
  });

  void it('describes open fds as JSON and closes them all', async () => {
    fs.mkdirSync(host('sub'));
    const fd = await create(f, 'sub/file', 'abc');
    const dfd = must(await open(f, 'sub', Oflags.DIRECTORY, RIGHTS_DIRECTORY));
    const desc = JSON.parse(JSON.stringify(f.b.describeFds())) as ReturnType<
      typeof f.b.describeFds
    >;
    assert.deepEqual(
      desc.map((d) => [d.fd, d.kind, d.stdio]),
      [
        [0, 'memdev', true],
        [1, 'memdev', true],
        [2, 'memdev', true],
        [3, 'directory', false],
        [fd, 'file', false],
        [dfd, 'directory', false],
      ],
    );
    const pre = desc[3]!;
    assert.equal(pre.guestPath, '/sandbox');
    assert.equal(pre.hostPath, f.root);
    assert.equal(pre.rightsBase, RIGHTS_DIRECTORY.toString());
    const file = desc[4]!;
    assert.equal(file.hostPath, host('sub/file'));
    assert.equal(file.offset, '3');
    assert.equal(file.oflags, Oflags.CREAT | Oflags.TRUNC);
    assert.equal(file.root, f.root);
    assert.equal(desc[5]!.hostPath, host('sub'));
    const hostFds = desc.filter((d) => !d.stdio).map((d) => d.hostFd);
    f.b.closeAll();
    for (const h of hostFds) {
      assert.throws(() => fs.fstatSync(h), { code: 'EBADF' });
    }
    fs.fstatSync(f.nullFd); // stdio untouched
    assert.deepEqual(f.b.describeFds(), []);
  });
});

void describe('HostBackend stdio redirected to a regular file', () => {
  void it('writes at the shared kernel offset and refuses to seek', async () => {
    const f0 = makeFixture();
    const out = path.join(f0.base, 'out');
    const hostFd = fs.openSync(out, 'w');
    fs.writeSync(hostFd, 'abc'); // the parent wrote first
    const f = makeFixture([f0.nullFd, hostFd, f0.nullFd]);
    try {
      const st = must(await f.b.fdFdstatGet(1));
      assert.equal(st.filetype, Filetype.REGULAR_FILE);
      assert.equal(st.rightsBase & Rights.FD_SEEK, 0n);
      must(await f.b.fdWrite(1, Buffer.from('def')));
      fs.writeSync(hostFd, 'ghi'); // ...and writes after the guest
      assert.equal(fs.readFileSync(out, 'utf8'), 'abcdefghi');
      assert.equal(errnoOf(await f.b.fdSeek(1, 0n, Whence.SET)), Errno.SPIPE);
      assert.equal(errnoOf(await f.b.fdTell(1)), Errno.SPIPE);
    } finally {
      f.cleanup();
      fs.closeSync(hostFd);
      f0.cleanup();
    }
  });
});
