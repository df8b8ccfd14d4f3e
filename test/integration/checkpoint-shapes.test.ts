/**
 * Issue 3's shapes, each checkpointed by itself at given ticks (OSMOSIS_CHECKPOINT_TICKS) and
 * restarted in a fresh process: deep recursion through indirect calls (50 000 frames, and
 * 400 000: more than the usual unwind region holds), qsort comparators, and 500 MB allocated and
 * touched. The run's output up to the image plus the
 * restart's output must equal an uninterrupted run, byte for byte.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openImageFile } from '../../src/snapshot/index.js';
import { fixture, makeScratch, osmo, removeScratch, repoRoot } from '../helpers/osmo.js';

let dir = '';
before(() => (dir = makeScratch()));
after(() => removeScratch(dir));

interface Checked {
  stackBytes: number[];
  memoryPages: number[];
}

async function checkpointAndRestart(
  name: string,
  args: string[],
  ticks: number[],
): Promise<Checked> {
  const plain = await osmo(['run', ...args], { stdinNull: true, deadlineMs: 180_000 });
  assert.equal(plain.status, 0, plain.stderr);
  const base = join(dir, `${name}.osmosnap`);
  const run = await osmo(
    ['run', '--checkpoint-file', base, '--checkpoint-keep', String(ticks.length), ...args],
    {
      stdinNull: true,
      deadlineMs: 180_000,
      env: { ...process.env, OSMOSIS_CHECKPOINT_TICKS: ticks.join(',') },
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.ok(run.stdout.equals(plain.stdout), `${name}: checkpoints changed the output`);
  const stackBytes: number[] = [];
  const memoryPages: number[] = [];
  for (let i = 1; i <= ticks.length; i++) {
    const image = ticks.length === 1 ? base : `${base}.${i}`;
    const opened = openImageFile(image);
    const before = Number(opened.meta.counters.stdoutBytes);
    stackBytes.push(opened.meta.stack?.bytes.length ?? 0);
    memoryPages.push(opened.meta.memoryPages);
    opened.close();
    const restarted = await osmo(['restart', image], { stdinNull: true, deadlineMs: 180_000 });
    assert.equal(restarted.status, 0, `${name} image ${i}: ${restarted.stderr}`);
    assert.ok(
      Buffer.concat([plain.stdout.subarray(0, before), restarted.stdout]).equals(plain.stdout),
      `${name} image ${i}: output differs`,
    );
  }
  return { stackBytes, memoryPages };
}

describe('suspend and resume in a fresh process', () => {
  it('deep recursion through indirect calls, 50 000 frames', async () => {
    const { stackBytes } = await checkpointAndRestart(
      'deep',
      [fixture('deep'), '50000', '400'],
      [3, 9, 15],
    );
    // At least one image was taken deep in the recursion (~17+ bytes per saved frame).
    assert.ok(Math.max(...stackBytes) > 40_000 * 17, `stacks: ${stackBytes.join(', ')} bytes`);
  });

  it('a stack larger than the usual unwind region: 400 000 frames', async () => {
    // 400 000 levels take ~11 MB unwound: the region is sized from the live stack, frame by frame
    // (it was a fixed 8 MiB, and such a checkpoint trapped and lost the process).
    const { stackBytes } = await checkpointAndRestart(
      'deeper',
      [fixture('deep'), '400000', '5'],
      [3, 6],
    );
    assert.ok(Math.max(...stackBytes) > 8 << 20, `stacks: ${stackBytes.join(', ')} bytes`);
  });

  it('inside qsort comparators', async () => {
    const { memoryPages } = await checkpointAndRestart(
      'qsort',
      [join(repoRoot, 'bench', 'kernels', 'qsort.wasm'), '3'],
      [5, 40],
    );
    // The second checkpoint reused the first one's region: the memory did not grow.
    assert.equal(memoryPages[1], memoryPages[0], `memory pages: ${memoryPages.join(', ')}`);
  });

  it('500 MB allocated and touched', async () => {
    await checkpointAndRestart('big', [fixture('big'), '500', '3'], [500, 1500]);
  });
});
