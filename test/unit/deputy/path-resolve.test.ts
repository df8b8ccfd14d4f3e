import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BigIntStats } from 'node:fs';
import { resolvePath } from '../../../src/deputy/path-resolve.js';
import type { ResolveFs } from '../../../src/deputy/path-resolve.js';
import { Errno } from '../../../src/wasi/abi.js';

void describe('resolvePath', () => {
  let base = '';
  let root = '';
  const at = (p: string, follow = true, rel: string[] = []) =>
    resolvePath({ root, rel }, p, follow);
  const hostOf = (p: string, follow = true, rel: string[] = []): string => {
    const r = at(p, follow, rel);
    if (!r.ok) assert.fail(`${p}: errno ${r.errno}`);
    return r.value.hostPath;
  };
  const errnoOf = (p: string, follow = true, rel: string[] = []): number => {
    const r = at(p, follow, rel);
    return r.ok ? 0 : r.errno;
  };

  before(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'osmo-resolve-'));
    root = path.join(base, 'root');
    fs.mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
    fs.mkdirSync(path.join(base, 'outside'));
    fs.writeFileSync(path.join(root, 'file'), 'x');
    fs.writeFileSync(path.join(root, 'a', 'b', 'deep'), 'y');
    fs.symlinkSync('a', path.join(root, 'ld'));
    fs.symlinkSync('../file', path.join(root, 'a', 'up'));
    fs.symlinkSync('/etc', path.join(root, 'abs'));
    fs.symlinkSync('a/b/', path.join(root, 'slashdir'));
    fs.symlinkSync('missing', path.join(root, 'dangling'));
    // A chain that walks out: l1 -> a/l2, a/l2 -> ../../outside
    fs.symlinkSync('a/l2', path.join(root, 'l1'));
    fs.symlinkSync('../../outside', path.join(root, 'a', 'l2'));
    fs.symlinkSync('loop2', path.join(root, 'loop1'));
    fs.symlinkSync('loop1', path.join(root, 'loop2'));
    fs.symlinkSync('self', path.join(root, 'self'));
    // c0 -> c1 -> ... -> c40 -> file : resolving c0 costs 41 expansions, c1 costs 40.
    for (let i = 0; i < 40; i++) fs.symlinkSync(`c${i + 1}`, path.join(root, `c${i}`));
    fs.symlinkSync('file', path.join(root, 'c40'));
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  void it('resolves plain relative paths below the root', () => {
    assert.equal(hostOf('a/b/deep'), path.join(root, 'a/b/deep'));
    assert.equal(hostOf('./a//b/./deep'), path.join(root, 'a/b/deep'));
    assert.equal(hostOf('a/../file'), path.join(root, 'file'));
    assert.equal(hostOf('.'), root);
    const r = at('a/b/deep');
    assert.ok(r.ok && r.value.stat?.isFile() === true && r.value.last === 'deep');
  });

  void it('reports a missing final component without failing, but not a missing middle one', () => {
    const r = at('a/newfile');
    assert.ok(r.ok);
    assert.equal(r.value.stat, undefined);
    assert.equal(r.value.hostPath, path.join(root, 'a/newfile'));
    assert.equal(errnoOf('nope/x'), Errno.NOENT);
    assert.equal(errnoOf(''), Errno.NOENT);
    assert.equal(errnoOf('a\0b'), Errno.INVAL);
  });

  void it('refuses every way above the preopen root', () => {
    assert.equal(errnoOf('..'), Errno.NOTCAPABLE);
    assert.equal(errnoOf('../outside/secret'), Errno.NOTCAPABLE);
    assert.equal(errnoOf('a/../../x'), Errno.NOTCAPABLE);
    assert.equal(errnoOf('a/b/../../../root/file'), Errno.NOTCAPABLE);
    assert.equal(errnoOf('/etc/passwd'), Errno.NOTCAPABLE);
    assert.equal(errnoOf('abs'), Errno.NOTCAPABLE);
    assert.equal(errnoOf('abs/passwd', false), Errno.NOTCAPABLE);
    assert.equal(errnoOf('l1'), Errno.NOTCAPABLE);
    assert.equal(errnoOf('l1/secret', false), Errno.NOTCAPABLE);
  });

  void it('allows .. above a directory fd as long as it stays below the preopen root', () => {
    assert.equal(hostOf('../file', true, ['a']), path.join(root, 'file'));
    assert.equal(hostOf('deep', true, ['a', 'b']), path.join(root, 'a/b/deep'));
    assert.equal(errnoOf('../..', true, ['a']), Errno.NOTCAPABLE);
  });

  void it('expands symlinks in the middle always and at the end only when following', () => {
    assert.equal(hostOf('ld/b/deep', false), path.join(root, 'a/b/deep'));
    assert.equal(hostOf('a/up'), path.join(root, 'file'));
    const nofollow = at('a/up', false);
    assert.ok(nofollow.ok);
    assert.equal(nofollow.value.hostPath, path.join(root, 'a/up'));
    assert.equal(nofollow.value.stat?.isSymbolicLink(), true);
    // An absolute link is harmless as long as nobody follows it.
    assert.equal(hostOf('abs', false), path.join(root, 'abs'));
    assert.equal(hostOf('slashdir'), path.join(root, 'a/b'));
    const dangling = at('dangling');
    assert.ok(dangling.ok);
    assert.equal(dangling.value.hostPath, path.join(root, 'missing'));
    assert.equal(dangling.value.stat, undefined);
  });

  void it('gives LOOP for cycles and for more than 40 expansions', () => {
    assert.equal(errnoOf('loop1'), Errno.LOOP);
    assert.equal(errnoOf('self'), Errno.LOOP);
    assert.equal(errnoOf('self/x', false), Errno.LOOP);
    assert.equal(errnoOf('c0'), Errno.LOOP);
    assert.equal(hostOf('c1'), path.join(root, 'file'));
    assert.equal(hostOf('loop1', false), path.join(root, 'loop1'));
  });

  void it('gives NOTDIR for a file used as a directory or with a trailing slash', () => {
    assert.equal(errnoOf('file/'), Errno.NOTDIR);
    assert.equal(errnoOf('file/x'), Errno.NOTDIR);
    assert.equal(errnoOf('file/.'), Errno.NOTDIR);
    const r = at('a/b/');
    assert.ok(r.ok && r.value.trailingSlash && r.value.stat?.isDirectory() === true);
  });
});

void describe('resolvePath under a preopen of the host root', () => {
  // A fake file system: dirs, files and links by absolute path.
  const dirs = new Set(['/', '/etc', '/usr', '/usr/share', '/usr/share/zoneinfo']);
  const files = new Set(['/usr/share/zoneinfo/UTC']);
  const links = new Map([
    ['/etc/localtime', '/usr/share/zoneinfo/UTC'],
    ['/etc/up', '../../../..'],
  ]);
  const stat = (kind: 'dir' | 'file' | 'link'): BigIntStats =>
    ({
      isDirectory: () => kind === 'dir',
      isSymbolicLink: () => kind === 'link',
      isFile: () => kind === 'file',
    }) as unknown as BigIntStats;
  const fakeFs: ResolveFs = {
    lstat: (p) =>
      dirs.has(p)
        ? stat('dir')
        : files.has(p)
          ? stat('file')
          : links.has(p)
            ? stat('link')
            : undefined,
    readlink: (p) => links.get(p)!,
  };

  void it('restarts an absolute link target at the root', () => {
    const r = resolvePath({ root: '/', rel: [] }, 'etc/localtime', true, fakeFs);
    assert.ok(r.ok);
    assert.equal(r.value.hostPath, '/usr/share/zoneinfo/UTC');
  });

  void it('still refuses .. above / and absolute guest paths', () => {
    const up = resolvePath({ root: '/', rel: [] }, 'etc/up', true, fakeFs);
    assert.deepEqual(up, { ok: false, errno: Errno.NOTCAPABLE });
    const abs = resolvePath({ root: '/', rel: [] }, '/etc', true, fakeFs);
    assert.deepEqual(abs, { ok: false, errno: Errno.NOTCAPABLE });
  });

  void it('refuses the same absolute link under any other root', () => {
    const r = resolvePath({ root: '/srv', rel: [] }, 'etc/localtime', true, {
      lstat: (p) => fakeFs.lstat(p.slice('/srv'.length) || '/'),
      readlink: (p) => fakeFs.readlink(p.slice('/srv'.length)),
    });
    assert.deepEqual(r, { ok: false, errno: Errno.NOTCAPABLE });
  });
});
