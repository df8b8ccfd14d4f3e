/** The guest's cache of its directory fds' fd_fdstat_get answers (src/runtime/fdstat-cache.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYSCALL_IDS } from '../../../src/protocol/syscall-table.js';
import { FdstatCache } from '../../../src/runtime/fdstat-cache.js';
import { Filetype } from '../../../src/wasi/abi.js';

const op = (name: string): number => SYSCALL_IDS.get(name)!;
const dir = { filetype: Filetype.DIRECTORY, flags: 0, rightsBase: 7n, rightsInheriting: 3n };

test('a directory fd is kept; files and stdio are not', () => {
  const c = new FdstatCache();
  c.answered(3, dir);
  c.answered(4, { ...dir, filetype: Filetype.REGULAR_FILE });
  c.answered(1, dir);
  assert.deepEqual(c.get(3), dir);
  assert.equal(c.get(4), undefined);
  assert.equal(c.get(1), undefined);
});

test("the program's own changes to an fd drop it first", () => {
  const c = new FdstatCache();
  for (const [name, args, gone] of [
    ['fdFdstatSetFlags', [3, 0], 3],
    ['fdFdstatSetRights', [3, 0n, 0n], 3],
    ['fdClose', [3], 3],
    ['fdRenumber', [5, 3], 3],
    ['fdRenumber', [3, 5], 3],
  ] as const) {
    c.answered(3, dir);
    c.before(op('pathOpen'), [3]);
    assert.deepEqual(c.get(3), dir, 'an open changes nothing of the directory');
    c.before(op(name), args);
    assert.equal(c.get(gone), undefined, name);
  }
});
