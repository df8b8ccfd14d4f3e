import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DIRENT_SIZE, Errno, Filetype, Oflags, RIGHTS_DIRECTORY } from '../../../src/wasi/abi.js';
import type { Dirent } from '../../../src/wasi/abi.js';
import type { Fixture } from './fixture.js';
import { errnoOf, makeFixture, must, open, PRE, text } from './fixture.js';

void describe('HostBackend fd_readdir', () => {
  let f: Fixture;
  const N = 10_000;
  before(() => {
    f = makeFixture();
    const big = path.join(f.root, 'big');
    fs.mkdirSync(big);
    for (let i = 0; i < N; i++) fs.writeFileSync(path.join(big, `f${i}`), '');
    fs.mkdirSync(path.join(f.root, 'small'));
    fs.writeFileSync(path.join(f.root, 'small', 'b-file'), 'x');
    fs.mkdirSync(path.join(f.root, 'small', 'a-dir'));
    fs.symlinkSync('b-file', path.join(f.root, 'small', 'c-link'));
  });
  after(() => f.cleanup());

  /** Reads the whole directory the way wasi-libc does: growing cookies, fixed buffer. */
  async function readAll(fd: number, bufLen: number): Promise<Dirent[]> {
    const out: Dirent[] = [];
    let cookie = 0n;
    for (;;) {
      const batch = must(await f.b.fdReaddir(fd, cookie, bufLen));
      if (batch.length === 0) return out;
      // The guest only keeps what fits; simulate that truncation.
      let used = 0;
      for (const d of batch) {
        used += DIRENT_SIZE + d.name.length;
        if (used > bufLen) break;
        out.push(d);
        cookie = d.next;
      }
    }
  }

  void it('lists ".", "..", then sorted names with inode and type', async () => {
    const fd = must(await open(f, 'small', Oflags.DIRECTORY, RIGHTS_DIRECTORY));
    const all = await readAll(fd, 4096);
    assert.deepEqual(
      all.map((d) => [text(d.name), d.type]),
      [
        ['.', Filetype.DIRECTORY],
        ['..', Filetype.DIRECTORY],
        ['a-dir', Filetype.DIRECTORY],
        ['b-file', Filetype.REGULAR_FILE],
        ['c-link', Filetype.SYMBOLIC_LINK],
      ],
    );
    assert.deepEqual(
      all.map((d) => d.next),
      [1n, 2n, 3n, 4n, 5n],
    );
    const ino = (p: string): bigint => fs.lstatSync(path.join(f.root, p), { bigint: true }).ino;
    assert.equal(all[0]!.ino, ino('small'));
    assert.equal(all[1]!.ino, ino('.'));
    assert.equal(all[3]!.ino, ino('small/b-file'));
    assert.equal(all[4]!.ino, ino('small/c-link'));
    // Past the end: nothing. Re-reading from a cookie gives the same entries.
    assert.deepEqual(must(await f.b.fdReaddir(fd, 5n, 4096)), []);
    assert.deepEqual(must(await f.b.fdReaddir(fd, 99n, 4096)), []);
    assert.equal(text(must(await f.b.fdReaddir(fd, 3n, 1))[0]!.name), 'b-file');
    assert.equal(must(await f.b.fdReaddir(fd, 3n, 1)).length, 1, 'bufLen 1 still gets one entry');
  });

  void it('pages through 10 000 entries with growing cookies', async () => {
    const fd = must(await open(f, 'big', Oflags.DIRECTORY, RIGHTS_DIRECTORY));
    const all = await readAll(fd, 1000);
    assert.equal(all.length, N + 2);
    const names = all.slice(2).map((d) => text(d.name));
    const expected = Array.from({ length: N }, (_, i) => `f${i}`).sort();
    assert.deepEqual(names, expected);
    assert.equal(new Set(all.map((d) => d.ino)).size, N + 2);
  });

  void it('takes a new snapshot on cookie 0 (rewinddir)', async () => {
    const fd = must(await open(f, 'small', Oflags.DIRECTORY, RIGHTS_DIRECTORY));
    assert.equal((await readAll(fd, 4096)).length, 5);
    fs.writeFileSync(path.join(f.root, 'small', 'd-new'), '');
    // A non-zero cookie keeps paging the old snapshot...
    assert.deepEqual(must(await f.b.fdReaddir(fd, 5n, 4096)), []);
    // ...cookie 0 sees the new entry.
    const again = await readAll(fd, 4096);
    assert.equal(text(again[5]!.name), 'd-new');
    fs.unlinkSync(path.join(f.root, 'small', 'd-new'));
  });

  void it('refuses fds that are not directories or lack FD_READDIR', async () => {
    assert.equal(errnoOf(await f.b.fdReaddir(0, 0n, 100)), Errno.NOTCAPABLE);
    assert.equal(errnoOf(await f.b.fdReaddir(77, 0n, 100)), Errno.BADF);
    const preList = must(await f.b.fdReaddir(PRE, 0n, 100000));
    assert.deepEqual(
      preList.map((d) => text(d.name)),
      ['.', '..', 'big', 'small'],
    );
  });
});
