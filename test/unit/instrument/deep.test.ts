/** Suspend 60 000 frames deep in recursion and resume in a new instance (in a big-stack worker). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { instrumentWith } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import type { ChainResult } from './helpers.js';
import { fixture } from './helpers.js';

const DEPTH = 60000;

describe('deep recursion', () => {
  it(`suspends ${DEPTH} frames deep and resumes with the same output`, async (t) => {
    const plain = fixture('deep');
    const made = instrumentWith(await loadBinaryen(), plain, { tickInterval: 1 << 14 });
    assert.ok(made.stats.entryChecks >= 1, 'the recursive function must get an entry check');
    // Ticks 1, 3 and 4 of each instance: at the bottom loop (depth 60 000) or on the way down
    // (`down` is unrolled once: an entry check every other level, ~2 ticks per descent).
    const result = await new Promise<ChainResult & { reference: string }>((resolve, reject) => {
      const w = new Worker(new URL('./deep-worker.js', import.meta.url), {
        workerData: {
          plain,
          instrumented: made.bytes,
          args: ['deep', String(DEPTH), '400000'],
          ticks: [4, 3, 1],
        },
        resourceLimits: { stackSizeMb: 256 },
      });
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.equal(result.suspends.length, 3);
    assert.equal(result.output, result.reference);
    // Every frame of `down` is in the unwound stack: at least its 4 bytes of call index + locals.
    const deepest = Math.max(...result.suspends.map((s) => s.stackBytes));
    for (const s of result.suspends)
      t.diagnostic(`unwound ${s.stackBytes} bytes in ${s.unwindMs.toFixed(2)} ms`);
    assert.ok(deepest >= 50000 * 8, `unwound stack only ${deepest} bytes: not 50 000 frames deep`);
    // The marker's bound per frame (what the runtime sizes its region from) holds.
    const bound = made.marker.maxFrameBytes;
    assert.ok(bound !== undefined && deepest <= (DEPTH + 16) * bound, `bound ${bound} too small`);
    // So does the recursive function's own, smaller bound (the runtime adds frames up by name):
    // at most DEPTH frames of it, plus a few others at the largest bound.
    const down = made.marker.frameBytes?.down;
    assert.ok(down !== undefined && down < bound, `down's bound ${down} (largest ${bound})`);
    assert.ok(deepest <= DEPTH * down + 16 * bound, `down's bound ${down} too small`);
    t.diagnostic(`bytes per frame: down ${down}, largest ${bound}`);
  });
});
