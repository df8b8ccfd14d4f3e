/**
 * WASI preview1 conformance: C programs that exercise every wasi_snapshot_preview1 function and
 * check its observable effect (tests/fixtures/c). Each prints "ok <check>" per passing check and
 * exits 0; the first failing check prints "FAIL …" and exits 1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeScratch, osmo, removeScratch } from '../helpers/osmo.js';

let dir = '';
before(() => (dir = makeScratch()));
after(() => removeScratch(dir));

/**
 * The scratch directory as the program's "/" (fd 3) and "." (fd 4): every escape attempt is
 * measured against a root the test controls.
 */
function view(scratchDir: string): string[] {
  return ['--dir', `${scratchDir}:/`, '--dir', `${scratchDir}:.`];
}

function assertAllOk(
  r: { status: number | null; stdout: Buffer; stderr: string },
  minChecks: number,
): void {
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr}\n${r.stdout.toString()}`);
  assert.doesNotMatch(r.stderr, /FAIL/);
  const oks = r.stdout
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('ok '));
  assert.ok(oks.length >= minChecks, `only ${oks.length} checks passed:\n${r.stdout.toString()}`);
}

describe('wasi_snapshot_preview1 conformance', () => {
  it('escape: nothing is reachable or created outside the preopens', async () => {
    const parent = makeScratch();
    const root = join(parent, 'root');
    mkdirSync(root);
    writeFileSync(join(parent, 'secret.txt'), 'outside\n');
    try {
      assertAllOk(await osmo(['run', ...view(root), fixture('escape'), '/']), 10);
      assert.deepEqual(readdirSync(parent).sort(), ['root', 'secret.txt']);
    } finally {
      removeScratch(parent);
    }
  });

  for (const [program, minChecks] of [
    ['files', 20],
    ['dirs', 15],
    ['misc', 8],
  ] as const) {
    it(program, async () => {
      const scratchDir = makeScratch();
      try {
        assertAllOk(await osmo(['run', ...view(scratchDir), fixture(program), '/']), minChecks);
      } finally {
        removeScratch(scratchDir);
      }
    });
    // Preemptible, a program also sees /proc/self: its own preopens keep their fds (3, 4, …).
    it(`${program}, preemptible`, async () => {
      const scratchDir = makeScratch();
      try {
        const r = await osmo(['run', '--preemptible', ...view(scratchDir), fixture(program), '/']);
        assertAllOk(r, minChecks);
      } finally {
        removeScratch(scratchDir);
      }
    });
  }

  it('clocks', async () => {
    const nowSeconds = String(Math.floor(Date.now() / 1000));
    assertAllOk(await osmo(['run', ...view(dir), fixture('clocks'), '/', nowSeconds]), 8);
  });

  it('poll_oneoff: stdin readiness and timeout', async () => {
    const ready = await osmo(['run', ...view(dir), fixture('poll'), '/'], { input: 'data\n' });
    assert.equal(ready.status, 0, ready.stderr);
    assert.match(ready.stdout.toString(), /stdin ready/);
  });
});
