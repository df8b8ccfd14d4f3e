/**
 * instrument(): makes a WASI module preemptible anywhere and movable. The runtime contract
 * (names, data layout) is in ./contract.ts and docs/adr/0006-instrumentation.md.
 */
import { OsmoError } from '../core/errors.js';
import { callGraphCycles } from './call-graph.js';
import {
  functionsThatMayUnwind,
  hideSafeIndirectCalls,
  restoreIndirectCalls,
  type Helper,
} from './indirect.js';
import {
  DEFAULT_TICK_INTERVAL,
  GLOBAL_EXPORT_PREFIX,
  INSTRUMENTER_VERSION,
  MARKER_SECTION,
  TICK_MODULE,
  TICK_NAME,
  WASI_MODULE,
  type InstrumentMarker,
  type MarkedGlobal,
} from './contract.js';
import { asyncifyFrameBytes } from './frame-bound.js';
import { addFastPaths } from './fast-path.js';
import { loadBinaryen, type Binaryen } from './load-binaryen.js';
import { unrollSelfRecursion } from './unroll-recursion.js';
import { bulkLikeFunctions } from './bulk-like.js';
import { addStepCounter, BUDGET_GLOBAL, TICK_FUNCTION, type LoopShape } from './step-counter.js';

export interface InstrumentOptions {
  /** Steps between two tick calls (the initial budget; tick's return value sets the next). */
  tickInterval?: number;
  /** Loop check shape; 'split' unless measuring alternatives. */
  loopShape?: LoopShape;
  /** Entry checks on functions on call-graph cycles ('cycles', default) or on every function. */
  entryChecks?: 'cycles' | 'all';
  /** false: loops that call an entry-checked function every iteration keep their own counter. */
  calleeCounts?: boolean;
  /** false: loops with a constant trip count keep a counter instead of a charge at their start. */
  chargeCounted?: boolean;
  /** false: a loop spends its step where each turn starts, never on edges (./edge-steps.ts). */
  edgeSteps?: boolean;
  /** false: memcpy, memmove and memset are counted like other functions (./bulk-like.ts). */
  bulkLike?: boolean;
  /** false: a self-recursive function keeps its entry check even where its loops count each level. */
  loopBoundRecursion?: boolean;
  /** false: small self-recursive functions are not unrolled once (./unroll-recursion.ts). */
  unrollRecursion?: boolean;
  /** false: Asyncify instruments every call_indirect, even one whose targets cannot unwind. */
  safeIndirect?: boolean;
  /**
   * WASI imports that may unwind ('all', the contract). Measurements only: a list here changes the
   * runtime contract (a suspend then waits for the other imports to return).
   */
  unwindImports?: 'all' | readonly string[];
  /** false: no fast copies of the asyncified functions (./fast-path.ts). */
  fastPaths?: boolean;
  /** false: a fast copy's checks share one save of every local (measurements only; ./fast-path.ts). */
  liveSaves?: boolean;
  /** false: counter only, no Asyncify (cost measurements only; the result cannot suspend). */
  asyncify?: boolean;
  /** false: Asyncify only, no step counter (cost measurements only). */
  counter?: boolean;
  /** binaryen optimize level for the Asyncify pass (research note: 0 costs 2.2×). */
  optimizeLevel?: number;
  shrinkLevel?: number;
  /** Passes run after Asyncify (e.g. ['optimize-instructions'] or an -O3 pipeline). */
  postPasses?: readonly string[];
  /** Run binaryen's default optimisation pipeline (at optimizeLevel) after Asyncify. */
  postOptimize?: boolean;
}

export interface InstrumentStats {
  loops: number;
  /** Loops left without a counter: each iteration calls an entry-checked function. */
  loopsViaCallee: number;
  /** Loops with a constant trip count charged where they start (./counted-loops.ts). */
  loopsCharged: number;
  /** Loops that spend their step only on paths entering no counting nested loop (./edge-steps.ts). */
  loopsOnEdges: number;
  /** libc copy and fill functions left uncounted, like bulk-memory instructions (./bulk-like.ts). */
  bulkLike: number;
  /** Self-recursive functions unrolled once (./unroll-recursion.ts). */
  unrolled: number;
  /** call_indirect sites hidden from Asyncify (no table member of their signature can unwind). */
  safeIndirect: number;
  /** call_indirect sites Asyncify instruments. */
  unsafeIndirect: number;
  /** Asyncified functions with a fast copy, and those left without (./fast-path.ts). */
  fastPaths: number;
  fastPathsRefused: number;
  entryChecks: number;
  /** Self-recursive functions whose loops count each level instead of an entry check. */
  entriesViaLoops: number;
  functions: number;
  ms: number;
}

/** Loads binaryen (lazily, ~100 ms) and instruments. */
export async function instrument(
  bytes: Uint8Array,
  options: InstrumentOptions = {},
): Promise<Uint8Array> {
  return instrumentWith(await loadBinaryen(), bytes, options).bytes;
}

export function instrumentWith(
  b: Binaryen,
  bytes: Uint8Array,
  options: InstrumentOptions = {},
): { bytes: Uint8Array; stats: InstrumentStats; marker: InstrumentMarker } {
  const start = performance.now();
  const tickInterval = options.tickInterval ?? DEFAULT_TICK_INTERVAL;
  if (!Number.isInteger(tickInterval) || tickInterval < 1 || tickInterval > 0x7fffffff) {
    throw new OsmoError(
      'E_USAGE',
      `tickInterval must be an integer in [1, 2^31-1], got ${tickInterval}`,
    );
  }
  const features =
    b.Features.MVP |
    b.Features.MutableGlobals |
    b.Features.SignExt |
    b.Features.NontrappingFPToInt |
    b.Features.BulkMemory;
  let module: InstanceType<Binaryen['Module']>;
  try {
    // binaryen.js 132 takes the features as readBinary's second argument (its typings lag).
    const read = b.readBinary as (
      data: Uint8Array,
      features: number,
    ) => InstanceType<Binaryen['Module']>;
    module = read(bytes, features);
    module.setFeatures(features);
  } catch (cause) {
    throw new OsmoError(
      'E_BAD_WASM',
      `cannot read the module for instrumentation (${String(cause)}); build it for wasm32-wasi with MVP, sign-ext, bulk-memory and non-trapping float-to-int only`,
      { cause },
    );
  }
  // binaryen's settings are process-wide: set them for this run and restore them after.
  const saved = { opt: b.getOptimizeLevel(), shrink: b.getShrinkLevel(), debug: b.getDebugInfo() };
  try {
    for (let i = 0; i < module.getNumFunctions(); i++) {
      const info = b.getFunctionInfo(module.getFunctionByIndex(i));
      if (info.module === TICK_MODULE) {
        throw new OsmoError(
          'E_BAD_WASM',
          `module already imports ${TICK_MODULE}.${info.base}: is it instrumented already?`,
        );
      }
    }
    let loops = 0;
    let loopsViaCallee = 0;
    let loopsCharged = 0;
    let loopsOnEdges = 0;
    let unrolled = 0;
    let bulkLike = 0;
    let safeIndirect = 0;
    let fastPaths = 0;
    let fastPathsRefused = 0;
    let unsafeIndirect = 0;
    let entryChecks = 0;
    let entriesViaLoops = 0;
    let frames: { max: number; smaller: Record<string, number> } | undefined;
    if (options.counter !== false) {
      if (options.unrollRecursion !== false) unrolled = unrollSelfRecursion(b, module);
      const cycles = callGraphCycles(b, module);
      const cyclic = options.entryChecks === 'all' ? 'all' : new Set(cycles.flat());
      const selfRecursive = new Set(
        options.loopBoundRecursion === false
          ? []
          : cycles.filter((c) => c.length === 1).map((c) => c[0]!),
      );
      const uncounted =
        options.bulkLike === false ? new Set<string>() : bulkLikeFunctions(b, module);
      bulkLike = uncounted.size;
      const r = addStepCounter(
        b,
        module,
        { module: TICK_MODULE, name: TICK_NAME },
        {
          tickInterval,
          loopShape: options.loopShape ?? 'split-local',
          entryChecks: cyclic,
          selfRecursive,
          uncounted,
          calleeCounts: options.calleeCounts,
          ...(options.chargeCounted === undefined ? {} : { chargeCounted: options.chargeCounted }),
          ...(options.edgeSteps === undefined ? {} : { edgeSteps: options.edgeSteps }),
        },
      );
      loops = r.loops;
      loopsViaCallee = r.loopsViaCallee;
      loopsCharged = r.loopsCharged;
      loopsOnEdges = r.loopsOnEdges;
      entryChecks = r.entries;
      entriesViaLoops = r.entriesViaLoops;
    }
    const globals = exportMutableGlobals(b, module);
    // Keep names: traps must still name functions. DWARF (if any) would be stale after the rewrite.
    b.setDebugInfo(true);
    if (options.asyncify !== false) {
      const imports: string[] = [];
      const internal = new Set<string>();
      const unwindable = options.unwindImports ?? 'all';
      for (let i = 0; i < module.getNumFunctions(); i++) {
        const info = b.getFunctionInfo(module.getFunctionByIndex(i));
        const wasi = info.module === WASI_MODULE;
        if (
          (wasi && (unwindable === 'all' || unwindable.includes(info.base ?? ''))) ||
          (info.module === TICK_MODULE && info.base === TICK_NAME)
        ) {
          imports.push(`${info.module}.${info.base}`);
          internal.add(info.name);
        }
      }
      let helpers: Helper[] = [];
      if (options.safeIndirect !== false) {
        const { mayUnwind, tableBySig } = functionsThatMayUnwind(b, module, internal);
        const r = hideSafeIndirectCalls(b, module, mayUnwind, tableBySig);
        helpers = r.helpers;
        safeIndirect = r.sites;
        unsafeIndirect = r.unsafeSites;
      }
      b.setOptimizeLevel(options.optimizeLevel ?? 2);
      b.setShrinkLevel(options.shrinkLevel ?? 1);
      b.setPassArgument('asyncify-imports', imports.join(','));
      if (helpers.length > 0)
        b.setPassArgument('asyncify-removelist', helpers.map((h) => h.name).join(','));
      try {
        module.runPasses(['asyncify']);
      } finally {
        b.setPassArgument('asyncify-imports', null);
        b.setPassArgument('asyncify-removelist', null);
      }
      restoreIndirectCalls(b, module, helpers);
      frames = asyncifyFrameBytes(b, module);
      if (options.fastPaths !== false) {
        const r = addFastPaths(b, module, frames.smaller, {
          liveSaves: options.liveSaves !== false,
        });
        fastPaths = r.fast;
        fastPathsRefused = r.refused.length;
      }
    }
    if (options.postOptimize) module.optimize();
    if (options.postPasses && options.postPasses.length > 0)
      module.runPasses([...options.postPasses]);
    module.runPasses(['strip-dwarf']);
    if (!module.validate()) {
      throw new OsmoError(
        'E_INTERNAL',
        'the instrumented module does not validate: an instrumenter bug; please report it with the module',
      );
    }
    const marker: InstrumentMarker = {
      instrumenter: 'osmosis',
      version: INSTRUMENTER_VERSION,
      tickInterval,
      budgetGlobal: globals.find((g) => g.name === BUDGET_GLOBAL)?.export ?? '',
      globals,
      ...(frames === undefined ? {} : { maxFrameBytes: frames.max, frameBytes: frames.smaller }),
    };
    module.addCustomSection(MARKER_SECTION, new TextEncoder().encode(JSON.stringify(marker)));
    const out = module.emitBinary();
    return {
      bytes: out,
      marker,
      stats: {
        loops,
        loopsViaCallee,
        loopsCharged,
        loopsOnEdges,
        bulkLike,
        unrolled,
        entryChecks,
        entriesViaLoops,
        safeIndirect,
        unsafeIndirect,
        fastPaths,
        fastPathsRefused,
        functions: module.getNumFunctions(),
        ms: performance.now() - start,
      },
    };
  } finally {
    b.setOptimizeLevel(saved.opt);
    b.setShrinkLevel(saved.shrink);
    b.setDebugInfo(saved.debug);
    module.dispose();
  }
}

const TYPE_NAMES = new Map<number, MarkedGlobal['type']>();

/**
 * Exports every mutable global as osmo_g<i> (index order), before Asyncify adds its own state
 * globals: those are not part of a process image (they are idle whenever an image is taken).
 */
function exportMutableGlobals(
  b: Binaryen,
  module: InstanceType<Binaryen['Module']>,
): MarkedGlobal[] {
  if (TYPE_NAMES.size === 0) {
    TYPE_NAMES.set(b.i32, 'i32').set(b.i64, 'i64').set(b.f32, 'f32').set(b.f64, 'f64');
  }
  const out: MarkedGlobal[] = [];
  let n = 0;
  for (let i = 0; i < module.getNumGlobals(); i++) {
    const info = b.getGlobalInfo(module.getGlobalByIndex(i));
    if (!info.mutable) continue;
    const type = TYPE_NAMES.get(info.type);
    if (type === undefined) {
      throw new OsmoError(
        'E_BAD_WASM',
        `mutable global ${info.name} has a type the image cannot hold`,
      );
    }
    if (info.module) {
      throw new OsmoError(
        'E_BAD_WASM',
        `mutable global ${info.name} is imported from ${info.module}; a WASI program cannot import mutable globals`,
      );
    }
    const name = `${GLOBAL_EXPORT_PREFIX}${n++}`;
    module.addGlobalExport(info.name, name);
    out.push({ export: name, name: info.name, type });
  }
  return out;
}

export { TICK_FUNCTION };
