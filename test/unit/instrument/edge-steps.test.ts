/**
 * A loop that makes calls spends its step only on the paths that enter no counting nested loop
 * (src/instrument/edge-steps.ts). Every turn must still spend one, a turn through the nested
 * loop must not spend twice, and a function left without its entry check keeps a step before
 * each call to itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instrumentWith, type InstrumentOptions } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { FIB_LOOP, wasmOf } from './helpers.js';

type Binaryen = Awaited<ReturnType<typeof loadBinaryen>>;

const INTERVAL = 64;

/** Unless $k is 0, $k turns of the nested loop $M (not a constant trip count: it counts). */
const SKIP_OR_NEST = `(block $skip
        (br_if $skip (i32.eqz (local.get $k)))
        (local.set $j (local.get $k))
        (loop $M
          (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
          (br_if $M (local.tee $j (i32.sub (local.get $j) (i32.const 1))))))`;

/** `turns` turns of $L, each calling $leaf, then SKIP_OR_NEST. */
const NEST = `(module
  (func $leaf (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (func $f (export "f") (param $turns i32) (param $k i32) (result i32) (local $acc i32) (local $j i32)
    (loop $L
      (local.set $acc (call $leaf (local.get $acc)))
      ${SKIP_OR_NEST}
      (br_if $L (local.tee $turns (i32.sub (local.get $turns) (i32.const 1)))))
    (local.get $acc)))`;

/**
 * The same loop around a call to itself, one level per call ($again is always 0 when run). The
 * call comes before the nested loop: a step only on the skip edge would come after the call, so
 * a descent would spend nothing until the bottom. $cur tells the tick how deep the descent is.
 */
const RECURSE_FIRST = `(module
  (global $cur (export "cur") (mut i32) (i32.const 0))
  (func $f (export "f") (param $n i32) (param $k i32) (param $again i32) (result i32)
    (local $acc i32) (local $j i32)
    (global.set $cur (local.get $n))
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (loop $L
      (local.set $acc (i32.add (local.get $acc)
        (call $f (i32.sub (local.get $n) (i32.const 1)) (local.get $k) (local.get $again))))
      ${SKIP_OR_NEST}
      (br_if $L (local.get $again)))
    (local.get $acc)))`;

function instrumentedRun(
  b: Binaryen,
  wat: string,
  args: number[],
  options: InstrumentOptions = {},
): { result: number; ticks: number; onEdges: number; curAtFirstTick: number | undefined } {
  const out = instrumentWith(b, wasmOf(b, wat), {
    tickInterval: INTERVAL,
    unrollRecursion: false,
    ...options,
  });
  let ticks = 0;
  let curAtFirstTick: number | undefined;
  const exports: { cur?: WebAssembly.Global } = {};
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes), {
    osmosis: {
      tick: () => {
        if (ticks++ === 0 && exports.cur) curAtFirstTick = exports.cur.value as number;
        return INTERVAL;
      },
    },
  });
  exports.cur = instance.exports.cur as WebAssembly.Global | undefined;
  const result = (instance.exports.f as (...a: number[]) => number)(...args);
  return { result, ticks, onEdges: out.stats.loopsOnEdges, curAtFirstTick };
}

describe('steps on the edges that need them', () => {
  it('puts the loop’s step on the edge that skips the nested loop, and every turn still spends one', async () => {
    const b = await loadBinaryen();
    const turns = 100 * INTERVAL;
    const skipping = instrumentedRun(b, NEST, [turns, 0]);
    const skippingOff = instrumentedRun(b, NEST, [turns, 0], { edgeSteps: false });
    assert.equal(skipping.onEdges, 1);
    assert.equal(skippingOff.onEdges, 0);
    assert.equal(skipping.result, turns);
    assert.equal(skippingOff.result, turns);
    // No turn enters $M: each spends its step on the skip edge.
    assert.ok(skipping.ticks >= turns / INTERVAL - 1, `${skipping.ticks} ticks`);
  });

  it('spends one step, not two, on a turn that enters the nested loop', async () => {
    const b = await loadBinaryen();
    const turns = 100 * INTERVAL;
    const on = instrumentedRun(b, NEST, [turns, 1]);
    const off = instrumentedRun(b, NEST, [turns, 1], { edgeSteps: false });
    assert.equal(on.result, 2 * turns);
    assert.equal(off.result, 2 * turns);
    assert.ok(on.ticks >= turns / INTERVAL - 1, `${on.ticks} ticks`);
    assert.ok(off.ticks >= (2 * turns) / INTERVAL - 1, `${off.ticks} ticks with turn-start steps`);
    assert.ok(on.ticks <= off.ticks * 0.6, `${on.ticks} vs ${off.ticks}`);
  });

  it('keeps the turn-start step where a function without its entry check calls itself outside the nested loop', async () => {
    const b = await loadBinaryen();
    const depth = 3000;
    const r = instrumentedRun(b, RECURSE_FIRST, [depth, 1, 0]);
    assert.equal(r.onEdges, 0);
    assert.equal(r.result, depth);
    // The first tick comes on the way down (a step each level before the call), not at the bottom.
    assert.ok(
      r.curAtFirstTick !== undefined && r.curAtFirstTick > depth - 2 * INTERVAL,
      `${r.curAtFirstTick}`,
    );
  });

  it('runs fib unrolled with its outer loop on edges, and the recursion still ticks', async () => {
    const b = await loadBinaryen();
    const on = instrumentedRun(b, FIB_LOOP, [20], { unrollRecursion: true });
    const off = instrumentedRun(b, FIB_LOOP, [20], { unrollRecursion: true, edgeSteps: false });
    assert.ok(on.onEdges >= 1, `${on.onEdges} loops on edges`);
    assert.equal(on.result, 6765);
    assert.equal(off.result, 6765);
    // fib(20) makes 10 945 calls that loop; unrolled, every other one is a turn of the inner
    // (counting) loop: at least that many steps.
    assert.ok(on.ticks >= 10945 / 2 / INTERVAL - 1, `${on.ticks} ticks`);
    assert.ok(on.ticks < off.ticks, `${on.ticks} vs ${off.ticks}`);
  });
});
