/**
 * One maker per cache entry (maker-lock.ts): concurrent processes missing the same entry
 * instrument once; a lock left by a dead maker, or by another host long ago, is taken over; a
 * maker that gives up without an entry hands the turn on; a maker that fails says why.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FOREIGN_LOCK_STALE_MS, makerTurn } from '../../../src/instrument/maker-lock.js';
import { instrumentCached } from '../../../src/instrument/cache.js';
import { isOsmoError } from '../../../src/core/errors.js';
import { fixturesDir } from './helpers.js';

const run = promisify(execFile);
const cacheModule = new URL('../../../src/instrument/cache.js', import.meta.url).href;

describe('makerTurn', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osmo-maker-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('three processes missing one entry at once: one instruments, two wait for its entry', async () => {
    const cache = join(dir, 'cache');
    // Each child prints its status and the sha of what it got.
    const script = `
      import { readFileSync } from 'node:fs';
      import { createHash } from 'node:crypto';
      const { instrumentCached } = await import(${JSON.stringify(cacheModule)});
      const r = await instrumentCached(readFileSync(process.argv[2]), { dir: process.argv[3] });
      console.log(r.status, r.waitedMs === undefined ? 'no-wait' : 'waited',
        createHash('sha256').update(r.bytes).digest('hex'));`;
    // A file, not `node -e`: a worker thread (the instrumenter's) inherits --input-type.
    const child = join(dir, 'child.mjs');
    writeFileSync(child, script);
    const runs = await Promise.all(
      [1, 2, 3].map(async () => {
        const { stdout } = await run(process.execPath, [
          child,
          `${fixturesDir}hotloop.wasm`,
          cache,
        ]);
        return stdout.trim();
      }),
    );
    const statuses = runs.map((r) => r.split(' ')[0]).sort();
    assert.deepEqual(statuses, ['hit', 'hit', 'miss'], runs.join('\n'));
    assert.equal(new Set(runs.map((r) => r.split(' ')[2])).size, 1, 'all got the same module');
    // The two that waited say so; nothing of the lock is left.
    assert.equal(runs.filter((r) => r.includes('waited')).length, 2, runs.join('\n'));
    assert.deepEqual(
      readdirSync(cache).filter((f) => !f.endsWith('.wasm')),
      [],
    );
  });

  it('a module binaryen refuses: its error from the worker thread, and no lock left', async () => {
    const cache = join(dir, 'refused');
    const once = await instrumentCached(readFileSync(`${fixturesDir}hotloop.wasm`), { dir: cache });
    // An instrumented module imports the tick already: instrumenting it again is refused.
    await assert.rejects(
      instrumentCached(once.bytes, { dir: cache }),
      (e) => isOsmoError(e) && e.code === 'E_BAD_WASM' && /instrumented already/.test(e.message),
    );
    assert.deepEqual(
      readdirSync(cache).filter((f) => f.endsWith('.lock')),
      [],
    );
  });

  it('takes over the lock of a maker that no longer runs', async () => {
    const lock = join(dir, 'dead.wasm.lock');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(lock, `${gone} ${hostname()}\n`);
    const turn = await makerTurn(lock, () => false);
    assert.equal(turn.kind, 'make');
    assert.ok(existsSync(lock), 'the lock is now this process’s');
    if (turn.kind === 'make') turn.release();
    assert.equal(existsSync(lock), false);
  });

  it('takes over another host’s lock only once it is old', async () => {
    const lock = join(dir, 'foreign.wasm.lock');
    writeFileSync(lock, `1 some-other-host\n`);
    const old = (Date.now() - FOREIGN_LOCK_STALE_MS - 60_000) / 1000;
    utimesSync(lock, old, old);
    const turn = await makerTurn(lock, () => false);
    assert.equal(turn.kind, 'make');
    if (turn.kind === 'make') turn.release();

    // A recent one: its maker may be at work; this process waits for the entry instead.
    writeFileSync(lock, `1 some-other-host\n`);
    let ready = false;
    const waiting = makerTurn(lock, () => ready);
    ready = true;
    writeFileSync(join(dir, 'foreign.wasm'), 'made elsewhere');
    const got = await waiting;
    assert.equal(got.kind, 'ready');
    assert.ok(existsSync(lock), 'another host’s recent lock is left alone');
    rmSync(lock);
  });

  it('a live maker that gives up without an entry hands the turn to a waiter', async () => {
    const lock = join(dir, 'failed.wasm.lock');
    writeFileSync(lock, `${process.pid} ${hostname()}\n`);
    const waiting = makerTurn(lock, () => false);
    rmSync(lock); // the maker failed (a module binaryen cannot read): no entry
    const turn = await waiting;
    assert.equal(turn.kind, 'make');
    if (turn.kind === 'make') turn.release();
    assert.equal(existsSync(lock), false);
  });

  it('a cache directory that cannot be made: make the entry without a lock', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const turn = await makerTurn(join(file, 'sub', 'x.wasm.lock'), () => false);
    assert.equal(turn.kind, 'make');
  });
});
