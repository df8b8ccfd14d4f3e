/**
 * Fast copies of asyncified functions (src/instrument/fast-path.ts): which shapes get one, that
 * the copy has no rewind code left, that real programs run and unwind through them, and that a
 * rewound program goes back to them.
 */
import assert from 'node:assert/strict';
import type binaryen from 'binaryen';
import { describe, it } from 'node:test';
import { FAST_SUFFIX, FAST_SWITCH_EXPORT } from '../../../src/instrument/contract.js';
import { addFastPaths } from '../../../src/instrument/fast-path.js';
import { instrumentWith } from '../../../src/instrument/instrument.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { newStubState } from '../../../src/instrument/stub-wasi.js';
import { runGuest } from '../../../src/instrument/test-driver.js';
import { walk } from '../../../src/instrument/walk.js';
import { describeTrap } from '../../../src/runtime/trap.js';
import { kernelsDir, text } from './helpers.js';
import { readFileSync } from 'node:fs';

type Binaryen = Awaited<ReturnType<typeof loadBinaryen>>;
type Module = InstanceType<Binaryen['Module']>;

/**
 * A function as Asyncify writes it, reduced: restore on rewind, guarded code, a call to an import
 * that may unwind followed by its check, the save code after the block `$save`. `BODY` and `AFTER`
 * are replaced per case.
 */
const SHAPE = `(module
  (import "osmosis" "tick" (func $tick (result i32)))
  (memory 1)
  (global $state (mut i32) (i32.const 0))
  (global $data (mut i32) (i32.const 0))
  (func $get_state (export "asyncify_get_state") (result i32) (global.get $state))
  (func $f (export "f") (param $0 i32) (result i32) (local $1 i32)
    (if (i32.eq (global.get $state) (i32.const 2))
      (then (local.set $0 (i32.load (global.get $data)))))
    (local.set $1
      (block $save (result i32)
        (if (i32.eqz (global.get $state))
          (then (local.set $0 (i32.add (local.get $0) (i32.const 1)))))
        BODY
        (return (local.get $0))))
    AFTER
    (i32.store (global.get $data) (local.get $0))
    (i32.const 0)))`;

const CALL_AND_CHECK = `(local.set $0 (i32.add (local.get $0) (call $tick)))
  (local.set $0 (call $tick))
  (drop (br_if $save (i32.const 0) (i32.eq (global.get $state) (i32.const 1))))`;

function parse(b: Binaryen, body: string, after = ''): Module {
  const wat = SHAPE.replace('BODY', body).replace('AFTER', after);
  return (b as unknown as { parseText(t: string): Module }).parseText(wat);
}

function fastOf(b: Binaryen, body: string, after = ''): { fast: number; refused: string[] } {
  const module = parse(b, body, after);
  try {
    return addFastPaths(b, module, {});
  } finally {
    module.dispose();
  }
}

/** Reads of the global named `name` in the function `fn`. */
function readsOf(b: Binaryen, module: Module, fn: string, name: string): number {
  let n = 0;
  walk(b, b.getFunctionInfo(module.getFunction(fn)).body, (expr, id) => {
    if (id === b.GlobalGetId && globalName(b, expr) === name) n++;
  });
  return n;
}

function globalName(b: Binaryen, expr: number): string | undefined {
  return (b.getExpressionInfo(expr) as { name?: string }).name;
}

/** The global `asyncify_get_state` returns. */
function stateGlobal(b: Binaryen, module: Module): string | undefined {
  let state: string | undefined;
  const fn = module.getFunction(b.getExportInfo(module.getExport('asyncify_get_state')).value);
  walk(b, b.getFunctionInfo(fn).body, (expr, id) => {
    if (id === b.GlobalGetId) state = globalName(b, expr);
  });
  return state;
}

describe('fast copies of asyncified functions', () => {
  it('copies the shape Asyncify writes, keeping only the check after the call', async () => {
    const b = await loadBinaryen();
    const module = parse(
      b,
      `(local.set $0 (call $tick))
       (drop (br_if $save (i32.const 0) (i32.eq (global.get $state) (i32.const 1))))`,
    );
    try {
      const frames: Record<string, number> = { f: 12 };
      assert.deepEqual(addFastPaths(b, module, frames), { fast: 1, refused: [] });
      assert.equal(frames[`f${FAST_SUFFIX}`], 12, 'the copy saves the frame of its original');
      assert.equal(readsOf(b, module, `f${FAST_SUFFIX}`, 'state'), 1);
      assert.ok(module.validate());
      // State 0: f runs its original until the switch is on, then its copy; same result.
      b.setDebugInfo(true); // the name section: V8 names the frames
      let stack = '';
      const instance = new WebAssembly.Instance(new WebAssembly.Module(module.emitBinary()), {
        osmosis: {
          tick: () => {
            stack = new Error().stack ?? '';
            return 41;
          },
        },
      });
      const f = instance.exports.f as (n: number) => number;
      assert.equal(f(1), 41);
      assert.doesNotMatch(stack, /f\.fast/);
      (instance.exports[FAST_SWITCH_EXPORT] as WebAssembly.Global).value = 1;
      assert.equal(f(1), 41);
      assert.match(stack, /f\.fast/);
    } finally {
      module.dispose();
    }
  });

  it('saves only the locals a rewind to the call needs, zeros for the others', async () => {
    const b = await loadBinaryen();
    const check = `(drop (br_if $save (i32.const 0) (i32.eq (global.get $state) (i32.const 1))))`;
    // What the save of f.fast passes for $0: the call sets it (dead before), or it is read after.
    const savedArgument = (body: string, liveSaves = true): string[] => {
      const module = parse(b, body);
      try {
        addFastPaths(b, module, {}, { liveSaves });
        assert.ok(module.validate());
        const saves: string[] = [];
        walk(b, b.getFunctionInfo(module.getFunction(`f${FAST_SUFFIX}`)).body, (expr, id) => {
          if (id !== b.CallId) return;
          const call = b.getExpressionInfo(expr) as { target?: string; operands?: number[] };
          if (call.target !== `f${FAST_SUFFIX}.save`) return;
          const arg = call.operands![0]!;
          saves.push((b.getExpressionId(arg) as binaryen.ExpressionIds) === b.ConstId ? '0' : '$0');
        });
        return saves.sort();
      } finally {
        module.dispose();
      }
    };
    // The shared save is left unreachable, and binaryen drops it.
    assert.deepEqual(savedArgument(`(local.set $0 (call $tick)) ${check}`), ['0']);
    assert.deepEqual(savedArgument(`(local.set $0 (call $tick)) ${check}`, false), ['$0']);
    assert.deepEqual(savedArgument(`(drop (call $tick)) ${check}`), ['$0']);
  });

  it('refuses a call that may unwind nested in an expression (no check right after it)', async () => {
    const b = await loadBinaryen();
    assert.deepEqual(fastOf(b, CALL_AND_CHECK).refused, ['f']);
  });

  it('refuses a read of the state after $save (the save code runs while unwinding)', async () => {
    const b = await loadBinaryen();
    const body = `(local.set $0 (call $tick))
      (drop (br_if $save (i32.const 0) (i32.eq (global.get $state) (i32.const 1))))`;
    assert.deepEqual(fastOf(b, body, '(drop (global.get $state))').refused, ['f']);
    assert.deepEqual(fastOf(b, body, '(drop (global.get $data))').refused, []);
  });

  it('refuses a function that writes the state, or a check that leaves another block', async () => {
    const b = await loadBinaryen();
    const check = `(drop (br_if $save (i32.const 0) (i32.eq (global.get $state) (i32.const 1))))`;
    assert.deepEqual(
      fastOf(b, `(global.set $state (i32.const 0)) (local.set $0 (call $tick)) ${check}`).refused,
      ['f'],
    );
    assert.deepEqual(
      fastOf(
        b,
        `(block $other (local.set $0 (call $tick))
           (br_if $other (i32.eq (global.get $state) (i32.const 1))))`,
      ).refused,
      ['f'],
    );
  });

  it('gives every asyncified function of the bench kernels a copy, with no rewind code', async () => {
    const b = await loadBinaryen();
    for (const kernel of ['fib', 'qsort', 'matmul']) {
      const r = instrumentWith(b, readFileSync(`${kernelsDir}${kernel}.wasm`));
      assert.equal(r.stats.fastPathsRefused, 0, kernel);
      assert.ok(r.stats.fastPaths > 30, `${kernel}: ${r.stats.fastPaths}`);
      const module = b.readBinary(r.bytes);
      try {
        // Every read of the state left in a copy is a check `state == 1` after a call: the rewind
        // code and the guards are gone.
        const state = stateGlobal(b, module);
        for (let i = 0; i < module.getNumFunctions(); i++) {
          const info = b.getFunctionInfo(module.getFunctionByIndex(i));
          if (!info.name.endsWith(FAST_SUFFIX)) continue;
          let reads = 0;
          let checks = 0;
          walk(b, info.body, (expr, id) => {
            if (id === b.GlobalGetId && globalName(b, expr) === state) reads++;
            if (id !== b.BinaryId) return;
            const cmp = b.getExpressionInfo(expr) as {
              op?: binaryen.Operations;
              left?: number;
              right?: number;
            };
            if (
              cmp.op === b.EqInt32 &&
              (b.getExpressionId(cmp.left!) as binaryen.ExpressionIds) === b.GlobalGetId &&
              globalName(b, cmp.left!) === state &&
              (b.getExpressionInfo(cmp.right!) as { value?: number }).value === 1
            )
              checks++;
          });
          assert.equal(reads, checks, `${kernel}: ${info.name}`);
        }
      } finally {
        module.dispose();
      }
    }
  });

  it('runs and unwinds fib in its fast copy, and goes back to it after the rewind', async () => {
    const b = await loadBinaryen();
    const bytes = instrumentWith(b, readFileSync(`${kernelsDir}fib.wasm`), {
      tickInterval: 4096,
    }).bytes;
    const module = new WebAssembly.Module(bytes);
    const plain = newStubState(['fib', '27']);
    runGuest(new WebAssembly.Module(readFileSync(`${kernelsDir}fib.wasm`)), plain);

    const stackAtTick = (): string => new Error().stack ?? '';
    const before: string[] = [];
    const first = runGuest(module, newStubState(['fib', '27']), {
      onTick: () => before.push(stackAtTick()),
      policy: { atTick: (t) => t === 40 },
    });
    assert.equal(first.kind, 'suspended');
    assert.match(before.at(-1)!, /fib\.fast/, 'the tick that unwound was reached in fib.fast');
    if (first.kind !== 'suspended') return;

    const after: string[] = [];
    const second = runGuest(
      module,
      structuredClone(first.image.host),
      { onTick: () => after.push(stackAtTick()) },
      first.image,
    );
    assert.equal(second.kind, 'exited');
    if (second.kind !== 'exited') return;
    assert.equal(text(second.host), text(plain));
    // The first ticks after the rewind may come from rebuilt (original) frames; new calls are fast.
    assert.ok(after.some((s) => /fib\.fast/.test(s)));
  });

  it('names the user function in a trap inside a fast copy', () => {
    const error = new Error('unreachable');
    error.stack = `RuntimeError: unreachable\n    at fib${FAST_SUFFIX} (wasm://wasm/0a1b2c3d:wasm-function[12]:0x1a2b)`;
    assert.equal(describeTrap(error).functionName, 'fib');
  });
});
