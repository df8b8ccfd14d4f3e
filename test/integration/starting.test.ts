/**
 * A program being prepared for preemption (its module new to the instrumentation cache) is
 * already an Osmosis process: `osmo ps` lists it as starting and `osmo freeze` says it is
 * starting (exit 1) rather than "no Osmosis process" (exit 3). The test holds the cache entry's
 * maker lock itself (maker-lock.ts), so the real `osmo run` waits in that state for as long as
 * the test needs, then lets it go and checks that the program runs as usual.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cacheKey } from '../../src/instrument/cache.js';
import { DEFAULT_TICK_INTERVAL } from '../../src/instrument/contract.js';
import type { ProcessInfo } from '../../src/process-control/types.js';
import { fixture, makeScratch, osmo, osmoBin, privateEnv, removeScratch } from '../helpers/osmo.js';
import { until } from './daemon-harness.js';

describe('a program while it is being instrumented', () => {
  const dir = makeScratch();
  const env = privateEnv(dir);
  after(() => removeScratch(dir));

  it('is listed as starting, refuses a freeze as starting, then runs', async () => {
    const program = fixture('steps');
    const modules = join(dir, 'cache', 'osmosis', 'modules');
    mkdirSync(modules, { recursive: true, mode: 0o700 });
    // This test process is the maker at work: the run waits for the entry.
    const lock = join(
      modules,
      `${cacheKey(readFileSync(program), DEFAULT_TICK_INTERVAL)}.wasm.lock`,
    );
    writeFileSync(lock, `${process.pid} ${hostname()}\n`);
    const child = spawn(
      process.execPath,
      [osmoBin, 'run', '--preemptible', '--daemon', 'none', program, '3', '1000'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const listed = await until(
        async () => {
          const r = await osmo(['ps', '--json'], { env });
          const list = (JSON.parse(r.stdout.toString()) as { processes: ProcessInfo[] }).processes;
          return list.find((p) => p.pid === child.pid);
        },
        20_000,
        'osmo ps lists the starting program',
      );
      assert.equal(listed.state, 'starting');
      assert.deepEqual(listed.command, [program, '3', '1000']);

      const freeze = await osmo(['freeze', String(child.pid)], { env });
      assert.equal(freeze.status, 1, freeze.stderr.toString());
      assert.match(freeze.stderr.toString(), /cannot freeze process \d+ yet: it is still starting/);
    } finally {
      rmSync(lock, { force: true }); // the maker gave up without an entry: the run makes it
    }
    assert.equal(await ended, 0, err);
    assert.equal(out.split('\n').filter((l) => l.startsWith('step ')).length, 3, out);
  });
});
