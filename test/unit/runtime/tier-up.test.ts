/**
 * Re-entering a running program for V8's optimised code (src/runtime/tier-up.ts): when it is due,
 * that it never happens under a memory maximum, and that the program's output is the same as
 * without. The region an unwind needs, from the live stack (src/runtime/unwind-region.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAST_SWITCH_EXPORT, readMarker } from '../../../src/instrument/contract.js';
import { newStubState, ProcExit, stubWasi } from '../../../src/instrument/stub-wasi.js';
import { runGuest } from '../../../src/instrument/test-driver.js';
import { GuestPreemption } from '../../../src/runtime/preemption.js';
import { createChannelBuffer, layoutOf } from '../../../src/runtime/channel.js';
import {
  REENTRY_AFTER_MS,
  REENTRY_MAX_FRAMES,
  reentryAllowed,
  ReentrySchedule,
} from '../../../src/runtime/tier-up.js';
import {
  countFrames,
  fitsUsualRegion,
  frameBoundsOf,
  STACK_REGION_BYTES,
  stackUnwindBytes,
  unwindRegionBytes,
} from '../../../src/runtime/unwind-region.js';
import { parseSections, withMemoryMax } from '../../../src/runtime/wasm-sections.js';
import { loadBinaryen } from '../../../src/instrument/load-binaryen.js';
import { fixture, instrumented, text } from '../instrument/helpers.js';

const TICK = 1 << 14;

/** Runs `module` to its end with re-entry due at every tick while the schedule lasts. */
function runWithReentries(
  module: WebAssembly.Module,
  args: string[],
  marker = readMarker(module),
): {
  out: string;
  reentered: number;
  code: number;
  grownNonZero: number;
  grownBytes: number;
  fastAtStart: unknown;
  fastAtEnd: unknown;
} {
  assert.ok(marker !== undefined, 'the module must be instrumented');
  const host = newStubState(args);
  const control = layoutOf(createChannelBuffer(1024)).control;
  const schedule = new ReentrySchedule(() => 0, [0, 0, 0]);
  const preemption = new GuestPreemption(marker, control, (why) => assert.fail(why), schedule);
  const bound: { memory?: WebAssembly.Memory } = {};
  const instance = new WebAssembly.Instance(module, {
    wasi_snapshot_preview1: preemption.wrapImports(stubWasi(host, () => bound.memory!)),
    osmosis: preemption.tickImports(),
  });
  bound.memory = instance.exports.memory as WebAssembly.Memory;
  preemption.attach(instance);
  const fastSwitch = instance.exports[FAST_SWITCH_EXPORT] as WebAssembly.Global | undefined;
  const fastAtStart: unknown = fastSwitch?.value;
  const startBytes = bound.memory.buffer.byteLength;
  const entry = instance.exports._start as () => void;
  let code = 0;
  for (;;) {
    try {
      entry();
    } catch (error) {
      if (!(error instanceof ProcExit)) throw error;
      code = error.code;
      break;
    }
    if (!preemption.unwound()) break;
    assert.ok(preemption.reentry(), 'an unwind nobody asked for must be a re-entry');
  }
  // The regions re-entries grew: spent, so zeroed (an image skips zero pages).
  const grown = new Uint8Array(bound.memory.buffer, startBytes);
  const grownNonZero = grown.reduce((n, b) => n + (b === 0 ? 0 : 1), 0);
  return {
    out: text(host),
    reentered: preemption.reentered,
    code,
    grownNonZero,
    grownBytes: grown.length,
    fastAtStart,
    fastAtEnd: fastSwitch?.value,
  };
}

function plainOutput(plain: Uint8Array, args: string[]): string {
  const host = newStubState(args);
  assert.equal(runGuest(new WebAssembly.Module(plain), host).kind, 'exited');
  return text(host);
}

describe('re-entry for optimised code', () => {
  it('is due at each scheduled time after the start, once each, and again in a new instance', () => {
    let now = 1000;
    const s = new ReentrySchedule(() => now);
    s.start();
    const dueAt: number[] = [];
    for (let t = 0; t <= 20000; t += 50) {
      now = 1000 + t;
      if (s.due()) {
        dueAt.push(t);
        s.next();
      }
    }
    assert.deepEqual(dueAt, [...REENTRY_AFTER_MS]);
    s.start(); // a restored or moved program: a new instance
    assert.equal(s.due(), false);
    now += REENTRY_AFTER_MS[0]!;
    assert.equal(s.due(), true);
    s.stop();
    assert.equal(s.due(), false);
  });

  it('sizes the unwind region from the stack: its depth times the largest frame', () => {
    const at = <T>(depth: number, f: () => T): T => (depth === 0 ? f() : at(depth - 1, f));
    const base = countFrames(10_000);
    assert.equal(
      at(300, () => countFrames(10_000)),
      base + 302, // 301 calls of `at` and the arrow
    );
    assert.equal(
      at(300, () => countFrames(100)),
      101,
      'counts at most limit + 1',
    );
    // A frame of at most STACK_REGION_BYTES / 200 bytes: 200 frames fit the usual region.
    const frame = STACK_REGION_BYTES / 200;
    assert.equal(
      at(10, () => fitsUsualRegion(frame, Number.POSITIVE_INFINITY)),
      true,
    );
    assert.equal(
      at(10, () => unwindRegionBytes(frameBoundsOf({ maxFrameBytes: frame }))),
      STACK_REGION_BYTES,
    );
    assert.equal(
      at(400, () => fitsUsualRegion(frame, Number.POSITIVE_INFINITY)),
      false,
    );
    const frames = at(400, () => countFrames(10_000)) + 1; // + unwindRegionBytes' own frame
    const bytes = at(400, () => unwindRegionBytes(frameBoundsOf({ maxFrameBytes: frame })));
    assert.ok(bytes >= frames * frame, `${bytes} < ${frames} frames × ${frame}`);
    assert.ok(bytes < (frames + 8) * frame + 65536);
    assert.equal(bytes % 65536, 0);
    // Bounds by name are for wasm frames only: a JS function of the same name counts in full.
    const named = at(300, () => [countFrames(10_000), stackUnwindBytes(10, new Map([['at', 1]]))]);
    assert.equal(named[1], named[0]! * 10);
    // A module instrumented before the bound existed: the usual region, no re-entry.
    assert.equal(unwindRegionBytes(frameBoundsOf({})), STACK_REGION_BYTES);
    assert.equal(fitsUsualRegion(undefined, Number.POSITIVE_INFINITY), false);
    // A re-entry counts no further than it may go.
    assert.equal(
      at(300, () => fitsUsualRegion(1, 100)),
      false,
    );
  });

  it('counts wasm frames, also those V8 inlined into their caller', async () => {
    // rec(n) = n == 0 ? probe() : rec(n - 1) + 1. Warmed up, V8 13 (Node 24) inlines rec into
    // itself 5 levels deep; a count that missed inlined frames would size regions too small.
    const b = await loadBinaryen();
    const m = new b.Module();
    try {
      m.addFunctionImport('probe', 'env', 'probe', b.none, b.i32);
      const n = (): number => m.local.get(0, b.i32);
      m.addFunction(
        'rec',
        b.i32,
        b.i32,
        [],
        m.if(
          m.i32.eqz(n()),
          m.call('probe', [], b.i32),
          m.i32.add(m.call('rec', [m.i32.sub(n(), m.i32.const(1))], b.i32), m.i32.const(1)),
        ),
      );
      m.addFunctionExport('rec', 'rec');
      let atBottom = 0;
      const instance = new WebAssembly.Instance(new WebAssembly.Module(m.emitBinary()), {
        env: { probe: () => ((atBottom = countFrames(100_000)), 0) },
      });
      const rec = instance.exports.rec as (n: number) => number;
      const base = ((): number => countFrames(100_000))(); // this frame + the probe's arrow
      for (let i = 0; i < 20_000; i++) rec(50);
      rec(1000);
      assert.equal(atBottom - base, 1001);
    } finally {
      m.dispose();
    }
  });

  it('is allowed only for a memory without a declared maximum, and not when turned off', () => {
    const plain = fixture('hotloop');
    assert.equal(reentryAllowed(plain, {}), true);
    assert.equal(reentryAllowed(plain, { OSMOSIS_REENTRY: 'off' }), false);
    const capped = withMemoryMax(plain, parseSections(plain), 512);
    assert.equal(reentryAllowed(capped, {}), false);
  });

  it('re-enters a hot loop three times and the output is unchanged', async () => {
    const plain = fixture('hotloop');
    const args = ['hotloop', '3000000'];
    const r = runWithReentries(await instrumented(plain, { tickInterval: TICK }), args);
    assert.equal(r.reentered, 3);
    assert.equal(r.code, 0);
    assert.equal(r.grownNonZero, 0, 'a spent region must be zeroed');
    // One region, reused by the next re-entries (the program itself allocates nothing more).
    const region = Math.ceil((STACK_REGION_BYTES + 8) / 65536) * 65536;
    assert.equal(r.grownBytes, region, 'each re-entry grew the memory again');
    assert.equal(r.out, plainOutput(plain, args));
  });

  it('runs the originals until the first re-entry, the fast copies after it (ADR 0006 round 6)', async () => {
    const plain = fixture('hotloop');
    const module = await instrumented(plain, { tickInterval: TICK });
    const r = runWithReentries(module, ['hotloop', '3000000']);
    assert.equal(r.fastAtStart, 0, 'a new instance starts in the originals');
    assert.equal(r.fastAtEnd, 1, 'the first re-entry turns the fast copies on');
    // Without re-entries nothing would ever bring the originals' optimised code: copies at once.
    const preemption = new GuestPreemption(
      readMarker(module)!,
      layoutOf(createChannelBuffer(1024)).control,
      (why) => assert.fail(why),
    );
    const instance = new WebAssembly.Instance(module, {
      wasi_snapshot_preview1: preemption.wrapImports(stubWasi(newStubState([]), () => undefined!)),
      osmosis: preemption.tickImports(),
    });
    preemption.attach(instance);
    assert.equal((instance.exports[FAST_SWITCH_EXPORT] as WebAssembly.Global).value, 1);
  });

  it(`re-enters deep in recursion up to ${REENTRY_MAX_FRAMES} frames, not deeper`, async () => {
    const plain = fixture('deep');
    const module = await instrumented(plain, { tickInterval: TICK });
    // Every tick lands at the bottom of the recursion (a long loop runs there).
    const shallow = ['deep', String(REENTRY_MAX_FRAMES - 100), '300000'];
    const r = runWithReentries(module, shallow);
    assert.equal(r.reentered, 3);
    assert.equal(r.grownNonZero, 0, 'a spent region must be zeroed');
    assert.equal(r.out, plainOutput(plain, shallow));
    // `down` is unrolled once (instrument/unroll-recursion.ts): a frame per two levels.
    const deep = ['deep', String(2 * REENTRY_MAX_FRAMES + 200), '300000'];
    const d = runWithReentries(module, deep);
    assert.equal(d.reentered, 0);
    assert.equal(d.out, plainOutput(plain, deep));
  });

  it('does not re-enter a module instrumented before frames were bounded', async () => {
    const plain = fixture('hotloop');
    const args = ['hotloop', '3000000'];
    const module = await instrumented(plain, { tickInterval: TICK });
    const marker = readMarker(module)!;
    assert.ok(marker.maxFrameBytes !== undefined && marker.maxFrameBytes > 0);
    const r = runWithReentries(module, args, { ...marker, maxFrameBytes: undefined });
    assert.equal(r.reentered, 0);
    assert.equal(r.out, plainOutput(plain, args));
  });
});
