/** The instrumented module's contract, the call-graph analysis and the module cache. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { instrumentCached } from '../../../src/instrument/cache.js';
import { cyclicNodes } from '../../../src/instrument/call-graph.js';
import {
  ASYNCIFY_EXPORTS,
  INSTRUMENTER_VERSION,
  TICK_MODULE,
  TICK_NAME,
} from '../../../src/instrument/contract.js';
import { instrumentWith } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { readMarker } from '../../../src/instrument/contract.js';
import { isOsmoError } from '../../../src/core/errors.js';
import { fixture, kernelsDir } from './helpers.js';

describe('instrument', () => {
  it('exports the runtime contract: tick import, asyncify controls, globals, marker, names', async () => {
    const out = instrumentWith(await loadBinaryen(), fixture('hotloop'), { tickInterval: 5000 });
    const m = new WebAssembly.Module(out.bytes);
    const imports = WebAssembly.Module.imports(m);
    assert.ok(
      imports.some(
        (i) => i.module === TICK_MODULE && i.name === TICK_NAME && i.kind === 'function',
      ),
    );
    const exports = new Map(WebAssembly.Module.exports(m).map((e) => [e.name, e.kind]));
    for (const name of ASYNCIFY_EXPORTS) assert.equal(exports.get(name), 'function', name);
    const marker = readMarker(m)!;
    assert.equal(marker.version, INSTRUMENTER_VERSION);
    assert.equal(marker.tickInterval, 5000);
    assert.ok(marker.globals.some((g) => g.name === '__stack_pointer' && g.type === 'i32'));
    assert.equal(marker.globals.find((g) => g.export === marker.budgetGlobal)?.name, 'osmo_budget');
    for (const g of marker.globals) assert.equal(exports.get(g.export), 'global', g.export);
    // The name section survives: traps name functions.
    assert.equal(WebAssembly.Module.customSections(m, 'name').length, 1);
    assert.ok(out.stats.loops > 0);
  });

  it('refuses a module that is already instrumented, and garbage, with E_BAD_WASM', async () => {
    const b = await loadBinaryen();
    const once = instrumentWith(b, fixture('hotloop')).bytes;
    assert.throws(
      () => instrumentWith(b, once),
      (e) => isOsmoError(e, 'E_BAD_WASM'),
    );
    assert.throws(
      () => instrumentWith(b, new Uint8Array([0, 97, 115, 109, 9, 9])),
      (e) => isOsmoError(e, 'E_BAD_WASM'),
    );
  });

  it('puts entry checks only on functions on call-graph cycles', async () => {
    const b = await loadBinaryen();
    // fib recurses; matmul's main does not (libc's frexp may, through its own recursion). Round 5
    // drops fib's check again (its loop counts each level): asked to keep it here.
    const options = { loopBoundRecursion: false };
    const fib = instrumentWith(b, readFileSync(join(kernelsDir, 'fib.wasm')), options).stats;
    const matmul = instrumentWith(b, readFileSync(join(kernelsDir, 'matmul.wasm')), options).stats;
    assert.equal(fib.entryChecks, matmul.entryChecks + 1);
  });

  it('round 2 analyses: loops counted by their callee, indirect calls that cannot unwind', async () => {
    const b = await loadBinaryen();
    // clang turns fib's second recursive call into a loop around the first: the callee counts
    // (as long as fib keeps its entry check: round 5 turns that around).
    const keep = { loopBoundRecursion: false };
    const fib = instrumentWith(b, readFileSync(join(kernelsDir, 'fib.wasm')), keep).stats;
    assert.equal(fib.loopsViaCallee, 1);
    assert.equal(
      instrumentWith(b, readFileSync(join(kernelsDir, 'fib.wasm')), {
        ...keep,
        calleeCounts: false,
      }).stats.loopsViaCallee,
      0,
    );
    // qsort's comparator (i32,i32)->i32 cannot unwind; the stdio hooks (i32,i32,i32)->i32 can.
    const qsort = instrumentWith(b, readFileSync(join(kernelsDir, 'qsort.wasm'))).stats;
    assert.ok(qsort.safeIndirect >= 6, `safe sites ${qsort.safeIndirect}`);
    assert.ok(qsort.unsafeIndirect > 0);
    // sortcmp's comparator loops (it can tick): none of its calls may be hidden.
    const sortcmp = instrumentWith(b, fixture('sortcmp')).stats;
    assert.equal(sortcmp.safeIndirect, 0);
  });
});

describe('instrument, round 3', () => {
  it('unrolls small self-recursion once, and folds only the copies', async () => {
    const b = await loadBinaryen();
    const plain = readFileSync(join(kernelsDir, 'fib.wasm'));
    const unrolled = instrumentWith(b, plain);
    const kept = instrumentWith(b, plain, { unrollRecursion: false });
    assert.ok(unrolled.stats.unrolled >= 1, 'fib is unrolled');
    assert.equal(kept.stats.unrolled, 0);
    // The copies were folded into their originals, and no other function was inlined.
    assert.deepEqual(functionNames(b, unrolled.bytes), functionNames(b, kept.bytes));
  });
});

function functionNames(b: Awaited<ReturnType<typeof loadBinaryen>>, bytes: Uint8Array): string[] {
  const m = b.readBinary(bytes);
  try {
    const out: string[] = [];
    for (let i = 0; i < m.getNumFunctions(); i++)
      out.push(b.getFunctionInfo(m.getFunctionByIndex(i)).name);
    return out.sort();
  } finally {
    m.dispose();
  }
}

describe('cyclicNodes', () => {
  const g = (edges: Record<string, string[]>): Map<string, Set<string>> =>
    new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));
  const cases: [string, Record<string, string[]>, string[]][] = [
    ['acyclic', { a: ['b'], b: ['c'], c: [] }, []],
    ['self call', { a: ['a', 'b'], b: [] }, ['a']],
    ['mutual', { a: ['b'], b: ['c'], c: ['a'], d: ['a'] }, ['a', 'b', 'c']],
    ['two cycles', { a: ['b'], b: ['a'], c: ['d'], d: ['c', 'e'], e: [] }, ['a', 'b', 'c', 'd']],
  ];
  for (const [name, edges, expected] of cases) {
    it(name, () => {
      assert.deepEqual([...cyclicNodes(Object.keys(edges), g(edges))].sort(), expected);
    });
  }
  it('a 100 000-long chain closing on itself (no recursion overflow)', () => {
    const edges = new Map<string, Set<string>>();
    const n = 100000;
    for (let i = 0; i < n; i++) edges.set(`f${i}`, new Set([`f${(i + 1) % n}`]));
    assert.equal(cyclicNodes([...edges.keys()], edges).size, n);
  });
});

describe('instrumentCached', () => {
  it('miss, then hit; a corrupt entry is detected and rebuilt; concurrent writers are safe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osmo-cache-'));
    try {
      const plain = fixture('hotloop');
      const first = await instrumentCached(plain, { dir });
      assert.equal(first.status, 'miss');
      assert.ok(first.instrumentMs > 0);
      const second = await instrumentCached(plain, { dir });
      assert.equal(second.status, 'hit');
      assert.deepEqual(second.bytes, first.bytes);
      // Flip one byte in the middle of the entry.
      const file = readFileSync(first.path);
      file[file.length >> 1] = file[file.length >> 1]! ^ 0xff;
      writeFileSync(first.path, file);
      const third = await instrumentCached(plain, { dir });
      assert.equal(third.status, 'corrupt');
      assert.deepEqual(third.bytes, first.bytes);
      assert.equal((await instrumentCached(plain, { dir })).status, 'hit');
      // Truncated entry.
      writeFileSync(first.path, file.subarray(0, 100));
      assert.equal((await instrumentCached(plain, { dir })).status, 'corrupt');
      // Several writers at once: every result whole, no temp files left behind.
      rmSync(first.path);
      const all = await Promise.all([1, 2, 3].map(() => instrumentCached(plain, { dir })));
      for (const r of all) assert.deepEqual(r.bytes, first.bytes);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.endsWith('.tmp')),
        [],
      );
      // A different tick interval is a different entry.
      assert.equal((await instrumentCached(plain, { dir, tickInterval: 77 })).status, 'miss');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
