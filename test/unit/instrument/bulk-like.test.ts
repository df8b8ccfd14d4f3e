/**
 * memcpy, memmove and memset run like bulk-memory instructions (src/instrument/bulk-like.ts):
 * their loops get no counter, so they never tick and calls to them stay out of Asyncify — but
 * only libc's shape of them, recognised by name, and a program that calls them still ticks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bulkLikeFunctions } from '../../../src/instrument/bulk-like.js';
import { instrumentWith } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { wasmOf } from './helpers.js';
import { kernelsDir } from './helpers.js';

type Binaryen = Awaited<ReturnType<typeof loadBinaryen>>;

/** A byte-copy loop named `name` (with `sig` and `extra` in its body) and `run(n)` calling it `times` times. */
function moduleWat(name: string, o: { sig?: string; extra?: string; times?: number } = {}): string {
  const sig = o.sig ?? '(param $d i32) (param $s i32) (param $n i32) (result i32)';
  const args = sig.includes('i64')
    ? '(i32.const 0) (i32.const 4096) (i64.extend_i32_u (local.get $n))'
    : '(i32.const 0) (i32.const 4096) (local.get $n)';
  const len = sig.includes('i64') ? '(i32.wrap_i64 (local.get $n))' : '(local.get $n)';
  return `(module (memory 2)
    (func $other (result i32) (i32.const 0))
    (func $${name} ${sig} (local $i i32)
      ${o.extra ?? ''}
      (block $done (loop $L
        (br_if $done (i32.ge_u (local.get $i) ${len}))
        (i32.store8 (i32.add (local.get $d) (local.get $i)) (i32.load8_u (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $L)))
      (local.get $d))
    (func $run (export "run") (param $n i32) (local $k i32)
      (loop $again
        (drop (call $${name} ${args}))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $k) (i32.const ${o.times ?? 1}))))))`;
}

/** Instruments `bytes` at 100 steps a tick and runs run(n); returns the ticks and the stats. */
function ticksOf(
  b: Binaryen,
  bytes: Uint8Array,
  n: number,
  bulkLike = true,
): { ticks: number; uncounted: number } {
  const out = instrumentWith(b, bytes, { tickInterval: 100, bulkLike });
  let ticks = 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes), {
    osmosis: { tick: () => (ticks++, 100) },
  });
  (instance.exports.run as (n: number) => void)(n);
  return { ticks, uncounted: out.stats.bulkLike };
}

describe('bulk-like libc functions', () => {
  it('leaves memcpy, memmove and memset uncounted: a 60 000-byte copy does not tick', async () => {
    const b = await loadBinaryen();
    for (const name of ['memcpy', 'memmove', 'memset']) {
      const bytes = wasmOf(b, moduleWat(name), true);
      assert.deepEqual(ticksOf(b, bytes, 60000), { ticks: 0, uncounted: 1 }, name);
      // The same module with the rule off ticks every 100 bytes.
      assert.ok(ticksOf(b, bytes, 60000, false).ticks >= 599, `${name} counted when asked`);
    }
  });

  it('still ticks in the loop that calls it', async () => {
    const b = await loadBinaryen();
    const { ticks } = ticksOf(b, wasmOf(b, moduleWat('memcpy', { times: 1000 }), true), 8);
    assert.ok(ticks >= 9 && ticks <= 11, `1000 calls at 100 steps a tick: ${ticks} ticks`);
  });

  it('counts a function of that name that is not a libc leaf, and any other name', async () => {
    const b = await loadBinaryen();
    const cases = [
      moduleWat('memcpy', { extra: '(drop (call $other))' }), // calls something
      moduleWat('memset', { sig: '(param $d i32) (param $s i32) (param $n i64) (result i32)' }),
      moduleWat('my_copy'),
    ];
    for (const wat of cases) {
      const r = ticksOf(b, wasmOf(b, wat, true), 60000);
      assert.equal(r.uncounted, 0);
      assert.ok(r.ticks >= 599, `counted: ${r.ticks} ticks`);
    }
    // A stripped module: no names, nothing recognised.
    const stripped = ticksOf(b, wasmOf(b, moduleWat('memcpy'), false), 60000);
    assert.equal(stripped.uncounted, 0);
    assert.ok(stripped.ticks >= 599);
  });

  it('finds both in a real libc program', async () => {
    const b = await loadBinaryen();
    const module = b.readBinary(readFileSync(join(kernelsDir, 'qsort.wasm')));
    try {
      assert.deepEqual([...bulkLikeFunctions(b, module)].sort(), ['memcpy', 'memset']);
    } finally {
      module.dispose();
    }
  });
});
