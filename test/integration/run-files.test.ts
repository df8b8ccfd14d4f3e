/** What a program sees of the home node's file system, and the syscall trace. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeScratch, osmo, removeScratch } from '../helpers/osmo.js';

let dir = '';
before(() => {
  dir = makeScratch();
  writeFileSync(join(dir, 'rel.txt'), 'relative ok\n');
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'x.txt'), 'inside data\n');
});
after(() => removeScratch(dir));

describe('file system view', () => {
  it('relative paths resolve against the caller’s cwd', async () => {
    const r = await osmo(['run', fixture('readfile'), 'rel.txt'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'relative ok\n');
  });

  it('absolute paths reach the home node’s files', async () => {
    const r = await osmo(['run', fixture('readfile'), join(dir, 'data', 'x.txt')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'inside data\n');
  });

  it('--dir HOST:GUEST restricts the program to the named directory', async () => {
    const hostData = join(dir, 'data');
    const inside = await osmo([
      'run',
      '--dir',
      `${hostData}:/data`,
      fixture('readfile'),
      '/data/x.txt',
    ]);
    assert.equal(inside.status, 0, inside.stderr);
    assert.equal(inside.stdout.toString(), 'inside data\n');
    const outside = await osmo([
      'run',
      '--dir',
      `${hostData}:/data`,
      fixture('readfile'),
      join(dir, 'rel.txt'),
    ]);
    assert.equal(outside.status, 1);
    assert.match(outside.stderr, /readfile: .*rel\.txt: /);
    const escape = await osmo([
      'run',
      '--dir',
      `${hostData}:/data`,
      fixture('readfile'),
      '/data/../rel.txt',
    ]);
    assert.equal(escape.status, 1, escape.stdout.toString());
  });

  it('--dir with a missing directory is one clear line, exit 2', async () => {
    const r = await osmo(['run', '--dir', join(dir, 'missing'), fixture('readfile')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--dir .*missing does not exist/);
  });

  it('writes land on the home node', async () => {
    const out = join(dir, 'copy.bin');
    const r = await osmo(['run', fixture('readfile'), join(dir, 'rel.txt')], {});
    assert.equal(r.status, 0);
    writeFileSync(out, r.stdout);
    assert.equal(readFileSync(out, 'utf8'), 'relative ok\n');
  });
});

describe('--strace', () => {
  it('prints every system call with arguments, result and duration', async () => {
    const r = await osmo(['run', '--strace', fixture('exit_code'), '3']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /\[strace\] args_sizes_get\(\d+, \d+\) = 0 SUCCESS <[\d.]+ µs>/);
    assert.match(r.stderr, /\[strace\] proc_exit\(3\)/);
  });
});
