/**
 * The property of issue 3: one program checkpointed at 30 seeded random moments; every
 * restart's complete output — what the run had written when the image was taken, then what the
 * restart writes — is byte-identical to an uninterrupted run. Moments are tick counts
 * (OSMOSIS_CHECKPOINT_TICKS), so a failing seed reproduces exactly.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../../src/core/random.js';
import { openImageFile } from '../../src/snapshot/index.js';
import { fixture, makeScratch, osmo, removeScratch } from '../helpers/osmo.js';

const SEED = Number(process.env.OSMO_PROPERTY_SEED ?? 20261121);
const MOMENTS = 30;
const ARGS = [fixture('steps'), '40', '2000000'];

let dir = '';
before(() => (dir = makeScratch()));
after(() => removeScratch(dir));

describe(`checkpoint at ${MOMENTS} seeded moments (seed ${SEED})`, () => {
  it('every restart completes the output byte for byte', async () => {
    const plain = await osmo(['run', ...ARGS], { stdinNull: true });
    assert.equal(plain.status, 0, plain.stderr);
    const full = plain.stdout;

    // 40 steps × 2 M iterations make ~75 ticks in all (measured): 30 distinct of the first 68.
    const random = seededRandom(SEED);
    const ticks = new Set<number>();
    while (ticks.size < MOMENTS) ticks.add(1 + random.int(68));
    const sorted = [...ticks].sort((a, b) => a - b);
    const base = join(dir, 'p.osmosnap');
    const run = await osmo(
      ['run', '--checkpoint-file', base, '--checkpoint-keep', String(MOMENTS), ...ARGS],
      { stdinNull: true, env: { ...process.env, OSMOSIS_CHECKPOINT_TICKS: sorted.join(',') } },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.stdout.equals(full), `seed ${SEED}: checkpoints changed the output`);

    for (let i = 1; i <= MOMENTS; i++) {
      const image = `${base}.${i}`;
      const opened = openImageFile(image);
      const before = Number(opened.meta.counters.stdoutBytes);
      const tick = opened.meta.counters.ticks;
      opened.close();
      const restarted = await osmo(['restart', image], { stdinNull: true });
      assert.equal(
        restarted.status,
        0,
        `seed ${SEED}, image ${i} (tick ${tick}): ${restarted.stderr}`,
      );
      const whole = Buffer.concat([full.subarray(0, before), restarted.stdout]);
      assert.ok(whole.equals(full), `seed ${SEED}, image ${i} (tick ${tick}): output differs`);
    }
  });
});
