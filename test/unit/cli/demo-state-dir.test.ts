import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  keepStateDir,
  makeStateDir,
  removeAbandonedStateDirs,
} from '../../../src/cli/demo/state-dir.js';
import { makeScratch, removeScratch } from '../../helpers/osmo.js';

/** The pid of a process that has ended (and been reaped). */
function endedPid(): number {
  const r = spawnSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

void test("a killed demo's directory goes at the next start; a live or kept one stays", () => {
  const parent = makeScratch();
  try {
    const mine = makeStateDir(parent);
    assert.match(basename(mine), /^osmo-demo-/);
    assert.equal(readFileSync(join(mine, 'demo.pid'), 'utf8'), `${process.pid}\n`);

    const abandoned = makeStateDir(parent);
    writeFileSync(join(abandoned, 'demo.pid'), `${endedPid()}\n`);
    mkdirSync(join(abandoned, 'balanced'));
    writeFileSync(join(abandoned, 'balanced', 'job-1.out'), 'output');

    const live = makeStateDir(parent);
    writeFileSync(join(live, 'demo.pid'), `${process.ppid}\n`);

    const kept = makeStateDir(parent);
    keepStateDir(kept);

    const garbled = makeStateDir(parent);
    writeFileSync(join(garbled, 'demo.pid'), 'not a pid\n');

    const stranger = join(parent, 'other-dir');
    mkdirSync(stranger);

    assert.deepEqual(removeAbandonedStateDirs(parent), [abandoned]);
    assert.equal(existsSync(abandoned), false);
    for (const d of [mine, live, kept, garbled, stranger]) assert.ok(existsSync(d), d);
    assert.deepEqual(removeAbandonedStateDirs(join(parent, 'missing')), []);
  } finally {
    removeScratch(parent);
  }
});
