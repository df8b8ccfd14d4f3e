/**
 * Loops with a constant trip count: which ones are recognised (and which must not be), and that
 * charging their steps where they start keeps ticks as frequent as counting each iteration.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findCountedLoops, MAX_CHARGED_TRIPS } from '../../../src/instrument/counted-loops.js';
import { instrumentWith } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { seededRandom } from '../../../src/core/random.js';
import { kernelsDir } from './helpers.js';

/** A function `f(n)`: `(local.set $x START)` then a loop whose latch is `LATCH`, BODY inside. */
function loopWat(start: number, latch: string, body = '', between = ''): string {
  return `(module (memory 1) (func $f (export "f") (param $n i32) (result i32) (local $x i32) (local $s i32)
    (local.set $x (i32.const ${start}))
    ${between}
    (loop $L (local.set $s (i32.add (local.get $s) (local.get $x))) ${body} ${latch})
    (local.get $s)))`;
}

type Binaryen = Awaited<ReturnType<typeof loadBinaryen>>;

/** binaryen's text parser (in binaryen.js, missing from its typings). */
function parse(b: Binaryen, wat: string): InstanceType<Binaryen['Module']> {
  return (b as unknown as { parseText(t: string): InstanceType<Binaryen['Module']> }).parseText(
    wat,
  );
}

function wasmOf(b: Binaryen, wat: string): Uint8Array {
  const module = parse(b, wat);
  try {
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

/** Instruments `bytes` (1000 steps a tick), calls export `name` with `args`, counts the ticks. */
function runCountingTicks(
  b: Binaryen,
  bytes: Uint8Array,
  options: { chargeCounted?: boolean },
  name: string,
  ...args: number[]
): { result: number; ticks: number; charged: number } {
  const out = instrumentWith(b, bytes, { tickInterval: 1000, ...options });
  let ticks = 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes), {
    osmosis: { tick: () => (ticks++, 1000) },
  });
  const result = (instance.exports[name] as (...a: number[]) => number)(...args);
  return { result, ticks, charged: out.stats.loopsCharged };
}

async function tripsOf(wat: string): Promise<number | undefined> {
  const b = await loadBinaryen();
  const module = parse(b, wat);
  try {
    const fn = module.getFunction('f');
    const found = [...findCountedLoops(b, b.getFunctionInfo(fn).body).values()];
    assert.ok(found.length <= 1);
    return found[0]?.trips;
  } finally {
    module.dispose();
  }
}

const step = (cmp: string, by: number, end: number): string =>
  `(br_if $L (${cmp} (local.tee $x (i32.add (local.get $x) (i32.const ${by}))) (i32.const ${end})))`;

describe('loops with a constant trip count', () => {
  it('counts ne, lt_s and lt_u latches, forwards and backwards', async () => {
    assert.equal(await tripsOf(loopWat(0, step('i32.ne', 1, 100))), 100);
    assert.equal(await tripsOf(loopWat(0, step('i32.ne', 16, 4096))), 256);
    assert.equal(await tripsOf(loopWat(100, step('i32.ne', -4, 0))), 25);
    assert.equal(await tripsOf(loopWat(0, step('i32.lt_s', 3, 10))), 4);
    assert.equal(await tripsOf(loopWat(-5, step('i32.lt_s', 1, 5))), 10);
    assert.equal(await tripsOf(loopWat(7, step('i32.lt_u', 1, 3))), 1);
    // clang's count-down: `br_if $L (local.tee $x (i32.add (local.get $x) (i32.const -1)))`.
    assert.equal(
      await tripsOf(
        loopWat(10, '(br_if $L (local.tee $x (i32.add (local.get $x) (i32.const -1))))'),
      ),
      10,
    );
    // Siblings between the start and the loop that leave $x alone do not matter.
    assert.equal(
      await tripsOf(loopWat(0, step('i32.ne', 1, 8), '', '(local.set $s (i32.const 1))')),
      8,
    );
  });

  it('leaves every other loop counted', async () => {
    // Never reaches the end exactly (it wraps around first): not constant in any useful sense.
    assert.equal(await tripsOf(loopWat(0, step('i32.ne', 3, 100))), undefined);
    // Longer than a charge may be: a tick would come too late.
    assert.equal(await tripsOf(loopWat(0, step('i32.ne', 1, MAX_CHARGED_TRIPS + 1))), undefined);
    // The bound is not a constant.
    assert.equal(
      await tripsOf(
        loopWat(
          0,
          '(br_if $L (i32.ne (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $n)))',
        ),
      ),
      undefined,
    );
    // Another back edge (a `continue` that skips the increment).
    assert.equal(
      await tripsOf(loopWat(0, step('i32.ne', 1, 100), '(br_if $L (i32.eqz (local.get $n)))')),
      undefined,
    );
    // The body writes the induction variable too.
    assert.equal(
      await tripsOf(loopWat(0, step('i32.ne', 1, 100), '(local.set $x (local.get $n))')),
      undefined,
    );
    // A sibling between the start and the loop writes it.
    assert.equal(
      await tripsOf(loopWat(0, step('i32.ne', 1, 100), '', '(local.set $x (local.get $n))')),
      undefined,
    );
    // An inner loop with a back edge: the charge would multiply through the nest.
    assert.equal(
      await tripsOf(
        loopWat(0, step('i32.ne', 1, 100), '(loop $I (br_if $I (i32.eqz (local.get $n))))'),
      ),
      undefined,
    );
  });

  it('ticks as often as counting every iteration would (outer loop counted, inner charged)', async () => {
    const b = await loadBinaryen();
    // g(n): n outer iterations (bound from the argument: counted), each with an inner loop of
    // exactly 100 iterations (charged): 101 steps per outer iteration.
    const wat = `(module (memory 1) (func $g (export "g") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $s i32)
      (loop $O
        (local.set $j (i32.const 0))
        (loop $I
          (local.set $s (i32.add (local.get $s) (i32.xor (local.get $i) (local.get $j))))
          (br_if $I (i32.ne (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 100))))
        (br_if $O (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
      (local.get $s)))`;
    const bytes = wasmOf(b, wat);
    const charged = runCountingTicks(b, bytes, { chargeCounted: true }, 'g', 5000);
    const counted = runCountingTicks(b, bytes, { chargeCounted: false }, 'g', 5000);
    assert.equal(charged.charged, 1);
    assert.equal(counted.charged, 0);
    assert.equal(charged.result, counted.result);
    // 5000 × 101 steps at 1000 a tick. A charge may take the budget below zero, and the tick
    // after it starts afresh: a tick comes at most one charge (100 steps) late.
    assert.ok(Math.abs(counted.ticks - 505) <= 1, `counted: ${counted.ticks} ticks`);
    const fewest = Math.floor((5000 * 101) / (1000 + 100));
    assert.ok(
      charged.ticks >= fewest && charged.ticks <= 506,
      `charged: ${charged.ticks} ticks, expected ${fewest}–506`,
    );
  });

  it('random loop shapes: same result as the plain module, ticks within one charge (seeded)', async () => {
    const b = await loadBinaryen();
    const random = seededRandom(20261204);
    const pick = <T>(xs: readonly T[]): T => xs[random.int(xs.length)]!;
    let charged = 0;
    for (let round = 0; round < 60; round++) {
      const compare = pick(['i32.ne', 'i32.lt_s', 'i32.lt_u', 'count-down'] as const);
      const start = pick([0, 1, 7, -3, 100, 255, -1, 2147483600]);
      const stepBy = compare === 'count-down' ? -1 : pick([1, 2, 3, -1, -2, 4]);
      const end = pick([0, 1, 8, 100, 256, 1000, -5, 2147483647]);
      const latch =
        compare === 'count-down'
          ? `(br_if $L (local.tee $x (i32.add (local.get $x) (i32.const -1))))`
          : `(br_if $L (${compare} (local.tee $x (i32.add (local.get $x) (i32.const ${stepBy}))) (i32.const ${end})))`;
      // The inner loop's turns, simulated in i32 arithmetic; shapes that run too long are skipped.
      let x = start | 0;
      let turns = 0;
      for (;;) {
        turns++;
        x = (x + stepBy) | 0;
        const again =
          compare === 'count-down' || compare === 'i32.ne'
            ? x !== (compare === 'count-down' ? 0 : end | 0)
            : compare === 'i32.lt_s'
              ? x < (end | 0)
              : x >>> 0 < end >>> 0;
        if (!again || turns > 100_000) break;
      }
      if (turns > 100_000) continue;
      const reps = 1 + random.int(40);
      const wat = `(module (memory 1) (func $g (export "g") (param $r i32) (result i32) (local $i i32) (local $x i32) (local $k i32)
        (loop $O
          (local.set $x (i32.const ${start}))
          (loop $L (local.set $k (i32.add (local.get $k) (i32.const 1))) ${latch})
          (br_if $O (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $r))))
        (local.get $k)))`;
      const bytes = wasmOf(b, wat);
      const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
      const expected = (plain.exports.g as (r: number) => number)(reps);
      assert.equal(expected, reps * turns, `round ${round}: the simulation agrees with wasm`);
      const { result, ticks, charged: chargedHere } = runCountingTicks(b, bytes, {}, 'g', reps);
      const what = `round ${round}: ${compare} from ${start} by ${stepBy} to ${end}, ${turns} turns × ${reps}`;
      assert.equal(result, expected, what);
      const steps = reps * (turns + 1);
      const late = chargedHere > 0 ? turns : 0;
      charged += chargedHere;
      assert.ok(
        ticks >= Math.floor(steps / (1000 + late)) && ticks <= Math.ceil(steps / 1000) + 1,
        `${what}: ${ticks} ticks for ${steps} steps`,
      );
    }
    assert.ok(charged >= 10, `only ${charged} of the shapes were charged`);
  });

  it('charges matmul’s inner loops (bench kernel)', async () => {
    const b = await loadBinaryen();
    const stats = instrumentWith(b, readFileSync(join(kernelsDir, 'matmul.wasm'))).stats;
    assert.ok(stats.loopsCharged >= 1, `charged ${stats.loopsCharged}`);
  });
});
