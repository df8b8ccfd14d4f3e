import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  Errno,
  Filetype,
  Fstflags,
  Oflags,
  Rights,
  RIGHTS_DIRECTORY,
  RIGHTS_DIRECTORY_INHERITING,
  RIGHTS_FILE,
} from '../../../src/wasi/abi.js';
import type { Fixture } from './fixture.js';
import { create, errnoOf, makeFixture, must, open, PRE, RO, RW, text } from './fixture.js';

void describe('HostBackend path operations', () => {
  let f: Fixture;
  beforeEach(() => {
    f = makeFixture();
  });
  afterEach(() => f.cleanup());
  const host = (p: string): string => path.join(f.root, p);
  const umask = process.umask();

  void it('path_open honours CREAT, EXCL, TRUNC and DIRECTORY', async () => {
    const fd = must(await open(f, 'new', Oflags.CREAT));
    assert.equal(fs.statSync(host('new')).mode & 0o777, 0o666 & ~umask);
    assert.equal(errnoOf(await open(f, 'new', Oflags.CREAT | Oflags.EXCL)), Errno.EXIST);
    assert.equal(errnoOf(await open(f, 'missing')), Errno.NOENT);
    assert.equal(errnoOf(await open(f, 'new', Oflags.DIRECTORY)), Errno.NOTDIR);
    assert.equal(errnoOf(await open(f, 'x', Oflags.CREAT | Oflags.DIRECTORY)), Errno.INVAL);
    assert.equal(errnoOf(await open(f, 'new', 16)), Errno.INVAL);
    must(await f.b.fdWrite(fd, Buffer.from('content')));
    const again = must(await open(f, 'new', Oflags.TRUNC));
    assert.equal(fs.statSync(host('new')).size, 0);
    assert.equal(must(await f.b.fdFdstatGet(again)).filetype, Filetype.REGULAR_FILE);
    assert.equal(must(await f.b.fdFdstatGet(again)).rightsBase, RW);
    assert.equal(errnoOf(await open(f, 'newdir/', Oflags.CREAT)), Errno.ISDIR);
    assert.equal(errnoOf(await open(f, 'new/', 0)), Errno.NOTDIR);
  });

  void it('path_open of a directory gives a directory fd that resolves below it', async () => {
    fs.mkdirSync(host('d/e'), { recursive: true });
    fs.writeFileSync(host('top'), 'top');
    // Requesting file rights on a directory: they are intersected away.
    const dfd = must(
      await f.b.pathOpen(
        PRE,
        1,
        'd',
        0,
        RIGHTS_DIRECTORY | Rights.FD_READ,
        RIGHTS_DIRECTORY_INHERITING,
        0,
      ),
    );
    const st = must(await f.b.fdFdstatGet(dfd));
    assert.equal(st.filetype, Filetype.DIRECTORY);
    assert.equal(st.rightsBase, RIGHTS_DIRECTORY);
    const inner = must(await open(f, 'e/../inner', Oflags.CREAT, RW, 0, dfd));
    must(await f.b.fdWrite(inner, Buffer.from('in')));
    assert.equal(fs.readFileSync(host('d/inner'), 'utf8'), 'in');
    // '..' above the dir fd is fine while it stays in the preopen...
    const top = must(await open(f, '../top', 0, RO, 0, dfd));
    const buf = new Uint8Array(3);
    must(await f.b.fdRead(top, buf));
    assert.equal(text(buf), 'top');
    // ...but not above the preopen.
    assert.equal(errnoOf(await open(f, '../../outside/secret', 0, RO, 0, dfd)), Errno.NOTCAPABLE);
    assert.equal(errnoOf(await open(f, 'd', 0, RW)), Errno.ISDIR);
    const withDirFlag = must(await open(f, 'd', Oflags.DIRECTORY, RW | RIGHTS_DIRECTORY));
    assert.equal(must(await f.b.fdFdstatGet(withDirFlag)).rightsBase, RIGHTS_DIRECTORY);
    assert.equal(errnoOf(await open(f, 'd', Oflags.DIRECTORY | Oflags.TRUNC)), Errno.ISDIR);
    assert.equal(errnoOf(await open(f, 'x', 0, RO, 0, inner)), Errno.NOTDIR);
  });

  void it('never escapes the preopen through paths or symlinks', async () => {
    fs.symlinkSync(path.join(f.outside, 'secret'), host('abs'));
    fs.symlinkSync('../outside/secret', host('rel-out'));
    fs.mkdirSync(host('sub'));
    fs.symlinkSync('../../outside', host('sub/hop'));
    fs.symlinkSync('sub/hop/secret', host('chain'));
    fs.symlinkSync('loop', host('loop'));
    for (const p of [
      '../outside/secret',
      'sub/../../outside/secret',
      '/etc/passwd',
      'abs',
      'rel-out',
      'chain',
    ]) {
      assert.equal(errnoOf(await open(f, p, 0, RO)), Errno.NOTCAPABLE, p);
    }
    assert.equal(errnoOf(await open(f, 'loop', 0, RO)), Errno.LOOP);
    assert.equal(errnoOf(await f.b.pathFilestatGet(PRE, 1, 'chain')), Errno.NOTCAPABLE);
    assert.equal(await f.b.pathCreateDirectory(PRE, 'sub/hop/x'), Errno.NOTCAPABLE);
    assert.equal(await f.b.pathUnlinkFile(PRE, '../outside/secret'), Errno.NOTCAPABLE);
    assert.equal(await f.b.pathRename(PRE, 'sub', PRE, '../stolen'), Errno.NOTCAPABLE);
    assert.ok(fs.existsSync(path.join(f.outside, 'secret')));
    assert.ok(!fs.existsSync(path.join(f.base, 'stolen')));
  });

  void it('symlinks: LOOP without SYMLINK_FOLLOW, the target with it', async () => {
    fs.writeFileSync(host('target'), 'T');
    fs.symlinkSync('target', host('link'));
    assert.equal(errnoOf(await f.b.pathOpen(PRE, 0, 'link', 0, RO, RO, 0)), Errno.LOOP);
    const fd = must(await open(f, 'link', 0, RO));
    const buf = new Uint8Array(1);
    must(await f.b.fdRead(fd, buf));
    assert.equal(text(buf), 'T');
    assert.equal(must(await f.b.pathFilestatGet(PRE, 0, 'link')).filetype, Filetype.SYMBOLIC_LINK);
    const st = must(await f.b.pathFilestatGet(PRE, 1, 'link'));
    assert.equal(st.filetype, Filetype.REGULAR_FILE);
    assert.equal(st.size, 1n);
    assert.equal(st.ino, fs.statSync(host('target'), { bigint: true }).ino);
    assert.equal(text(must(await f.b.pathReadlink(PRE, 'link'))), 'target');
    assert.equal(errnoOf(await f.b.pathReadlink(PRE, 'target')), Errno.INVAL);
    assert.equal(errnoOf(await f.b.pathReadlink(PRE, 'nothing')), Errno.NOENT);
  });

  void it('path_symlink stores relative targets and refuses absolute ones', async () => {
    assert.equal(await f.b.pathSymlink('/etc/passwd', PRE, 'evil'), Errno.NOTCAPABLE);
    assert.ok(!fs.existsSync(host('evil')));
    assert.equal(await f.b.pathSymlink('../outside', PRE, 'ok-to-create'), 0);
    assert.equal(fs.readlinkSync(host('ok-to-create')), '../outside');
    assert.equal(errnoOf(await open(f, 'ok-to-create/secret', 0, RO)), Errno.NOTCAPABLE);
    assert.equal(await f.b.pathSymlink('x', PRE, 'ok-to-create'), Errno.EXIST);
    assert.equal(await f.b.pathSymlink('', PRE, 'empty'), Errno.NOENT);
  });

  void it('creates and removes directories', async () => {
    assert.equal(await f.b.pathCreateDirectory(PRE, 'd'), 0);
    assert.equal(fs.statSync(host('d')).mode & 0o777, 0o777 & ~umask);
    assert.equal(await f.b.pathCreateDirectory(PRE, 'd'), Errno.EXIST);
    assert.equal(await f.b.pathCreateDirectory(PRE, '.'), Errno.EXIST);
    assert.equal(await f.b.pathCreateDirectory(PRE, 'no/such'), Errno.NOENT);
    await create(f, 'd/file');
    assert.equal(await f.b.pathRemoveDirectory(PRE, 'd'), Errno.NOTEMPTY);
    assert.equal(await f.b.pathRemoveDirectory(PRE, 'd/file'), Errno.NOTDIR);
    assert.equal(await f.b.pathRemoveDirectory(PRE, '.'), Errno.INVAL);
    assert.equal(await f.b.pathUnlinkFile(PRE, 'd'), Errno.ISDIR);
    assert.equal(await f.b.pathUnlinkFile(PRE, 'd/file/'), Errno.NOTDIR);
    assert.equal(await f.b.pathUnlinkFile(PRE, 'd/file'), 0);
    assert.equal(await f.b.pathUnlinkFile(PRE, 'd/file'), Errno.NOENT);
    assert.equal(await f.b.pathRemoveDirectory(PRE, 'd'), 0);
    assert.ok(!fs.existsSync(host('d')));
    assert.equal(await f.b.pathRemoveDirectory(PRE, 'd'), Errno.NOENT);
    assert.ok(fs.existsSync(f.root), 'the preopen itself survives');
  });

  void it('unlinks a symlink, not its target', async () => {
    fs.mkdirSync(host('dir'));
    fs.symlinkSync('dir', host('dirlink'));
    assert.equal(await f.b.pathUnlinkFile(PRE, 'dirlink'), 0);
    assert.ok(fs.existsSync(host('dir')));
    assert.ok(!fs.existsSync(host('dirlink')));
  });

  void it('renames and hard-links', async () => {
    await create(f, 'a', 'A');
    fs.mkdirSync(host('dir'));
    assert.equal(await f.b.pathRename(PRE, 'a', PRE, 'dir/b'), 0);
    assert.equal(fs.readFileSync(host('dir/b'), 'utf8'), 'A');
    assert.equal(await f.b.pathRename(PRE, 'a', PRE, 'c'), Errno.NOENT);
    fs.mkdirSync(host('empty'));
    assert.equal(await f.b.pathRename(PRE, 'dir/b', PRE, 'empty'), Errno.ISDIR);
    assert.equal(await f.b.pathRename(PRE, 'dir/b', PRE, 'x/'), Errno.NOTDIR);
    assert.equal(await f.b.pathLink(PRE, 0, 'dir/b', PRE, 'hard'), 0);
    assert.equal(fs.statSync(host('hard')).nlink, 2);
    assert.equal(must(await f.b.pathFilestatGet(PRE, 0, 'hard')).nlink, 2n);
    assert.equal(await f.b.pathLink(PRE, 0, 'dir/b', PRE, 'hard'), Errno.EXIST);
    assert.equal(await f.b.pathLink(PRE, 0, 'dir', PRE, 'dirlink'), Errno.PERM);
    assert.equal(await f.b.pathLink(PRE, 0, 'nope', PRE, 'n2'), Errno.NOENT);
    // With SYMLINK_FOLLOW the old side's link is followed; without it the link itself is linked.
    fs.symlinkSync('hard', host('sl'));
    assert.equal(await f.b.pathLink(PRE, 1, 'sl', PRE, 'viafollow'), 0);
    assert.ok(fs.lstatSync(host('viafollow')).isFile());
    assert.equal(await f.b.pathLink(PRE, 0, 'sl', PRE, 'nofollow'), 0);
    assert.ok(fs.lstatSync(host('nofollow')).isSymbolicLink());
  });

  void it('checks directory rights on path operations', async () => {
    await create(f, 'f', 'x');
    const rights = RIGHTS_DIRECTORY & ~(Rights.PATH_UNLINK_FILE | Rights.PATH_CREATE_FILE);
    assert.equal(await f.b.fdFdstatSetRights(PRE, rights, RIGHTS_DIRECTORY | RIGHTS_FILE), 0);
    assert.equal(await f.b.pathUnlinkFile(PRE, 'f'), Errno.NOTCAPABLE);
    assert.equal(errnoOf(await open(f, 'g', Oflags.CREAT)), Errno.NOTCAPABLE);
    assert.ok(fs.existsSync(host('f')));
    assert.equal(await f.b.pathCreateDirectory(0, 'x'), Errno.NOTDIR);
    assert.equal(await f.b.pathCreateDirectory(99, 'x'), Errno.BADF);
  });

  void it('path_filestat_set_times follows links only when asked', async () => {
    await create(f, 't', 'x');
    fs.symlinkSync('t', host('tl'));
    const t = 1_000_000_000_000_000_000n;
    const flags = Fstflags.ATIM | Fstflags.MTIM;
    assert.equal(await f.b.pathFilestatSetTimes(PRE, 1, 'tl', t, t, flags), 0);
    assert.equal(fs.statSync(host('t'), { bigint: true }).mtimeNs, t);
    const t2 = 1_100_000_000_000_000_000n;
    assert.equal(await f.b.pathFilestatSetTimes(PRE, 0, 'tl', t2, t2, flags), 0);
    assert.equal(fs.lstatSync(host('tl'), { bigint: true }).mtimeNs, t2);
    assert.equal(fs.statSync(host('t'), { bigint: true }).mtimeNs, t);
    assert.equal(await f.b.pathFilestatSetTimes(PRE, 1, 'none', t, t, flags), Errno.NOENT);
    assert.equal(
      await f.b.pathFilestatSetTimes(PRE, 1, 't', t, t, Fstflags.MTIM | Fstflags.MTIM_NOW),
      Errno.INVAL,
    );
  });
});
