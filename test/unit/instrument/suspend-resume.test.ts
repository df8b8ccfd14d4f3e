/**
 * Suspend anywhere, resume in a fresh instance, same output: in a hot loop, inside qsort
 * comparators (indirect calls), while blocked in WASI calls. Deep recursion: deep.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { newStubState } from '../../../src/instrument/stub-wasi.js';
import { runGuest } from '../../../src/instrument/test-driver.js';
import { chain, fixture, instrumented, kernelsDir, seeded, text } from './helpers.js';

const TICK = 1 << 14;

/** An uninterrupted run of the plain module: the reference output, and the instrumented tick count. */
function reference(
  plain: Uint8Array,
  module: WebAssembly.Module,
  args: string[],
  stdin?: string,
): { out: string; ticks: number } {
  const host = newStubState(args, stdin);
  const o = runGuest(new WebAssembly.Module(plain), host);
  assert.equal(o.kind, 'exited');
  const ih = newStubState(args, stdin);
  const io = runGuest(module, ih);
  assert.equal(io.kind, 'exited');
  assert.equal(text(ih), text(host), 'instrumented run without suspend differs');
  return { out: text(host), ticks: io.ticks };
}

async function suspendAtRandomTicks(
  name: string,
  args: string[],
  seed: number,
  hops: number,
  plain = fixture(name),
): Promise<void> {
  const module = await instrumented(plain, { tickInterval: TICK });
  const ref = reference(plain, module, args);
  assert.ok(ref.ticks > hops * 4, `${name}: only ${ref.ticks} ticks; lengthen the run`);
  const pick = seeded(seed);
  // Each new instance counts ticks from 1; spread the hops over the run.
  const span = Math.floor(ref.ticks / (hops + 1));
  const at = Array.from({ length: hops }, () => 1 + pick(span));
  const r = chain(
    module,
    args,
    at.map((t) => ({ atTick: (n) => n === t })),
  );
  assert.equal(
    r.suspends.length,
    hops,
    `seed ${seed}: expected ${hops} suspends at ticks ${at.join(',')}`,
  );
  assert.equal(
    r.output,
    ref.out,
    `seed ${seed}: output after suspends at ticks ${at.join(',')} differs`,
  );
  assert.equal(r.code, 0);
}

/** Suspends at the first tick of each new instance, `hops` times in a row; same output. */
async function suspendAtEachFirstTick(plain: Uint8Array, args: string[], hops: number) {
  const module = await instrumented(plain, { tickInterval: 1 << 12 });
  const ref = reference(plain, module, args, undefined);
  const r = chain(
    module,
    args,
    Array.from({ length: hops }, () => ({ atTick: (n: number) => n === 1 })),
  );
  assert.equal(r.suspends.length, hops);
  assert.equal(r.output, ref.out);
}

describe('suspend and resume in a new instance', () => {
  it('in a hot loop (3 hops, seeded random ticks)', async () => {
    for (const seed of [1, 2])
      await suspendAtRandomTicks('hotloop', ['hotloop', '6000000'], seed, 3);
  });

  it('inside qsort comparators (indirect calls)', async () => {
    for (const seed of [3, 4]) await suspendAtRandomTicks('sortcmp', ['sortcmp', '2'], seed, 3);
  });

  it('in libc qsort whose comparator calls are hidden from Asyncify (bench kernel)', async () => {
    const plain = readFileSync(`${kernelsDir}qsort.wasm`);
    for (const seed of [5, 6]) await suspendAtRandomTicks('qsort', ['qsort', '1'], seed, 3, plain);
  });

  it('in recursion counted by its loops, without an entry check (bench fib)', async () => {
    const plain = readFileSync(`${kernelsDir}fib.wasm`);
    for (const seed of [7, 8, 11]) await suspendAtRandomTicks('fib', ['fib', '30'], seed, 3, plain);
    // And at every one of the first ticks, each in a new instance.
    await suspendAtEachFirstTick(plain, ['fib', '25'], 12);
  });

  it('in loops with a constant trip count, charged where they start (bench matmul)', async () => {
    const plain = readFileSync(`${kernelsDir}matmul.wasm`);
    for (const seed of [9, 10])
      await suspendAtRandomTicks('matmul', ['matmul', '1'], seed, 3, plain);
  });

  it('while blocked in a WASI call (poll_oneoff, fd_read): the stub import unwinds', async () => {
    const plain = fixture('blocking');
    const module = await instrumented(plain, { tickInterval: TICK });
    const stdin = Array.from({ length: 40 }, (_, i) => `${i * 37 + 5}\n`).join('');
    const ref = reference(plain, module, ['blocking'], stdin);
    assert.match(ref.out, /count=40 /);
    for (const [syscall, nth] of [
      ['poll_oneoff', 7],
      ['fd_read', 1], // stdio reads all 40 lines at once, then EOF
      ['fd_read', 2],
      ['poll_oneoff', 1],
    ] as const) {
      let n = 0;
      const r = chain(
        module,
        ['blocking'],
        [{ atSyscall: (name) => name === syscall && ++n === nth }, {}],
        { stdin },
      );
      assert.equal(r.suspends.length, 1, `no suspend in ${syscall} #${nth}`);
      assert.equal(r.output, ref.out, `suspend in ${syscall} #${nth}: output differs`);
    }
  });

  it('a suspend at every one of the first ticks of a run, chained', async () => {
    await suspendAtEachFirstTick(fixture('hotloop'), ['hotloop', '200000'], 12);
  });
});
