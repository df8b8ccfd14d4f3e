/**
 * Live locals after chosen statements (src/instrument/liveness.ts): straight code, branches out
 * of blocks, loops, constant conditions, br_table. Each `(call $here)` statement marks a point;
 * the answer lists, per point in order, the locals live right after it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveAfter } from '../../../src/instrument/liveness.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { callsTo } from '../../../src/instrument/walk.js';

type Binaryen = Awaited<ReturnType<typeof loadBinaryen>>;
type Module = InstanceType<Binaryen['Module']>;

/** Live locals after each `(call $here)` of `body`, a function with locals $a $b $c $d (0–3). */
async function liveAtMarks(body: string): Promise<number[][] | undefined> {
  const b = await loadBinaryen();
  const wat = `(module
    (import "env" "here" (func $here))
    (import "env" "use" (func $use (param i32)))
    (func $f (param $a i32) (param $b i32) (local $c i32) (local $d i32)
      ${body}))`;
  const module = (b as unknown as { parseText(t: string): Module }).parseText(wat);
  try {
    const fn = b.getFunctionInfo(module.getFunction('f'));
    const marks = callsTo(b, fn.body, 'here');
    const live = liveAfter(b, fn.body, { after: new Set(marks) });
    return live && marks.map((m) => [...(live.get(m) ?? [])].sort());
  } finally {
    module.dispose();
  }
}

describe('liveness of locals', () => {
  it('in straight code: read before written is live, written first is not', async () => {
    assert.deepEqual(
      await liveAtMarks(`
        (call $here)
        (local.set $c (i32.add (local.get $a) (i32.const 1)))
        (call $here)
        (call $use (local.get $c))
        (local.set $b (i32.const 0))
        (call $use (local.get $b))`),
      [[0], [2]],
    );
  });

  it('follows a branch out of a block past the reads it skips', async () => {
    assert.deepEqual(
      await liveAtMarks(`
        (block $out
          (call $here)
          (br_if $out (local.get $d))
          (call $use (local.get $c))
          (br $out)
          (call $use (local.get $b)))
        (call $use (local.get $a))`),
      [[0, 2, 3]],
    );
  });

  it('carries what a loop reads in its next iteration back to its start', async () => {
    assert.deepEqual(
      await liveAtMarks(`
        (loop $again
          (call $here)
          (call $use (local.get $c))
          (local.set $c (local.get $a))
          (br_if $again (local.get $b)))`),
      [[0, 1, 2]],
    );
  });

  it('counts one arm of a condition built of constants, both of any other', async () => {
    assert.deepEqual(
      await liveAtMarks(`
        (call $here)
        (if (i32.or (i32.eqz (i32.const 0)) (i32.eqz (local.get $d)))
          (then (call $use (local.get $a)))
          (else (call $use (local.get $b))))
        (call $here)
        (if (local.get $d)
          (then (call $use (local.get $a)))
          (else (call $use (local.get $c))))`),
      [
        [0, 2, 3],
        [0, 2, 3],
      ],
    );
  });

  it('takes every target of a br_table', async () => {
    assert.deepEqual(
      await liveAtMarks(`
        (block $two
          (block $one
            (call $here)
            (br_table $one $two (local.get $d)))
          (call $use (local.get $a))
          (return))
        (call $use (local.get $b))`),
      [[0, 1, 3]],
    );
  });

  it('sees nothing live after a return or a trap', async () => {
    assert.deepEqual(
      await liveAtMarks(`
        (block $out
          (call $here)
          (if (local.get $a) (then (return)))
          (call $here)
          (unreachable))
        (call $use (local.get $c))`),
      [[0], []],
    );
  });
});
