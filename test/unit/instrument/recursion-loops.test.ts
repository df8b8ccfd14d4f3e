/**
 * A self-recursive function whose every call to itself lies inside a loop of its own that counts
 * each turn needs no entry check (src/instrument/step-counter.ts, recursionCountedByLoops). Which
 * functions qualify, which must keep their check, and that the recursion still ticks either way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instrumentWith } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { FIB_LOOP, wasmOf } from './helpers.js';

type Binaryen = Awaited<ReturnType<typeof loadBinaryen>>;

/** A recursion with its call outside any loop. */
const PLAIN = `(module
  (func $f (export "f") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (call $f (i32.sub (local.get $n) (i32.const 1))) (i32.const 1))))))`;

/** The call inside a loop of constant trip count (3): charged where it starts, never ticks itself. */
const CHARGED = `(module
  (func $f (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
    (local.set $i (i32.const 0))
    (loop $L
      (local.set $s (i32.add (local.get $s) (call $f (i32.sub (local.get $n) (i32.const 1)))))
      (br_if $L (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3))))
    (local.get $s)))`;

/** Two functions calling each other, each through a loop: a cycle of two, not self-recursion. */
const MUTUAL = `(module
  (func $f (export "f") (param $n i32) (result i32) (local $acc i32)
    (if (i32.lt_s (local.get $n) (i32.const 2)) (then (return (local.get $n))))
    (loop $L
      (local.set $acc (i32.add (local.get $acc) (call $g (i32.sub (local.get $n) (i32.const 1)))))
      (local.set $n (i32.sub (local.get $n) (i32.const 2)))
      (br_if $L (i32.ge_s (local.get $n) (i32.const 2))))
    (i32.add (local.get $acc) (local.get $n)))
  (func $g (param $n i32) (result i32) (call $f (local.get $n))))`;

/** The loop around the call also calls another checked function first, every turn. */
const VIA_OTHER = `(module
  (func $other (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (call $other (i32.sub (local.get $n) (i32.const 1))))))
  (func $f (export "f") (param $n i32) (result i32) (local $acc i32)
    (if (i32.lt_s (local.get $n) (i32.const 2)) (then (return (local.get $n))))
    (loop $L
      (drop (call $other (i32.const 1)))
      (local.set $acc (i32.add (local.get $acc) (call $f (i32.sub (local.get $n) (i32.const 1)))))
      (local.set $n (i32.sub (local.get $n) (i32.const 2)))
      (br_if $L (i32.ge_s (local.get $n) (i32.const 2))))
    (i32.add (local.get $acc) (local.get $n))))`;

/** Instruments at 64 steps a tick (unrolling off: the rule itself), runs f(n). */
function run(b: Binaryen, wat: string, n: number, loopBoundRecursion: boolean) {
  const out = instrumentWith(b, wasmOf(b, wat), {
    tickInterval: 64,
    loopBoundRecursion,
    unrollRecursion: false,
  });
  let ticks = 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes), {
    osmosis: { tick: () => (ticks++, 64) },
  });
  const result = (instance.exports.f as (n: number) => number)(n);
  return { result, ticks, viaLoops: out.stats.entriesViaLoops, entries: out.stats.entryChecks };
}

describe('self-recursion counted by its loops', () => {
  it('drops the entry check of fib as clang writes it, and it still ticks once per 64 levels', async () => {
    const b = await loadBinaryen();
    const on = run(b, FIB_LOOP, 20, true);
    const off = run(b, FIB_LOOP, 20, false);
    assert.equal(on.result, 6765);
    assert.equal(off.result, 6765);
    assert.deepEqual([on.viaLoops, on.entries, off.viaLoops, off.entries], [1, 0, 0, 1]);
    // fib(20) makes 10 945 calls that enter the loop: one counted turn each, as many steps as
    // the entry check spent (off) give or take the loop turns that call nothing more.
    assert.ok(on.ticks >= 10945 / 64 - 1, `${on.ticks} ticks`);
    assert.ok(Math.abs(on.ticks - off.ticks) <= off.ticks * 0.6, `${on.ticks} vs ${off.ticks}`);
  });

  it('keeps the check where a call to itself is outside every counted loop', async () => {
    const b = await loadBinaryen();
    for (const [what, wat, n] of [
      ['no loop', PLAIN, 5000],
      ['a loop charged where it starts', CHARGED, 7],
      ['a cycle of two functions', MUTUAL, 20],
      ['a loop counted by another callee', VIA_OTHER, 16],
    ] as const) {
      const r = run(b, wat, n, true);
      assert.equal(r.viaLoops, 0, what);
      assert.equal(r.result, run(b, wat, n, false).result, what);
      assert.ok(r.ticks > 0, `${what}: ${r.ticks} ticks`);
    }
  });
});
