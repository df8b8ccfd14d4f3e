/**
 * The runtime contract of an instrumented module: every name the guest worker relies on.
 * docs/adr/0006-instrumentation.md describes it in prose; change both together, and bump
 * INSTRUMENTER_VERSION whenever the code `instrument` writes changes, MARKER_REVISION when only
 * the marker does (both key the module cache).
 */

/**
 * Bumped on every change to the instrumented code; part of the cache key and the marker, and
 * recorded in images: an image continues only in code of its own version (its stack's layout).
 */
export const INSTRUMENTER_VERSION = 8;

/**
 * Bumped when only the marker changes (the code, hence images, stay compatible); part of the
 * cache key so that cached modules get the new marker. 2: `maxFrameBytes`; 3: `frameBytes`.
 */
export const MARKER_REVISION = 3;

/**
 * Suffix of a function's fast copy (./fast-path.ts): the same function without Asyncify's rewind
 * code. V8 names its frames so; the runtime reads them as the original function's.
 */
export const FAST_SUFFIX = '.fast';

/**
 * Exported mutable i32 global: 0 (its initial value) makes every function run its original, 1 its
 * fast copy. The runtime sets it once a new instance's originals have had their chance to tier up
 * (ADR 0011: the first re-entry), so that frames a re-entry rebuilds — which run the originals
 * until they return, `main`'s for the whole run — run V8's optimised code. Not part of an image.
 */
export const FAST_SWITCH_EXPORT = 'osmo_fast_paths';

/** Import called every `tickInterval` steps: `() -> i32`, returns the new step budget. */
export const TICK_MODULE = 'osmosis';
export const TICK_NAME = 'tick';

/** Imports that may unwind the stack besides tick: every import of this module. */
export const WASI_MODULE = 'wasi_snapshot_preview1';

/** Asyncify's control exports (names fixed by binaryen). */
export const ASYNCIFY_EXPORTS = [
  'asyncify_start_unwind',
  'asyncify_stop_unwind',
  'asyncify_start_rewind',
  'asyncify_stop_rewind',
  'asyncify_get_state',
] as const;

/** asyncify_get_state() values. */
export const ASYNCIFY_NORMAL = 0;
export const ASYNCIFY_UNWINDING = 1;
export const ASYNCIFY_REWINDING = 2;

/** Bytes of the asyncify data header: {i32 current pointer, i32 end pointer}, little endian. */
export const ASYNCIFY_HEADER_BYTES = 8;

/** Every mutable global is exported as `${GLOBAL_EXPORT_PREFIX}${i}`, i in global index order. */
export const GLOBAL_EXPORT_PREFIX = 'osmo_g';

/** Custom section marking an instrumented module; its payload is {@link InstrumentMarker} JSON. */
export const MARKER_SECTION = 'osmosis.instrumented';

/** Default steps between ticks (a step = a loop iteration or an entry to a recursive function). */
export const DEFAULT_TICK_INTERVAL = 1 << 18;

export interface MarkedGlobal {
  /** Export name, `osmo_g<i>`. */
  export: string;
  /** Name in the module (from the name section), e.g. `__stack_pointer`, or `osmo_budget`. */
  name: string;
  type: 'i32' | 'i64' | 'f32' | 'f64';
}

export interface InstrumentMarker {
  instrumenter: 'osmosis';
  version: number;
  tickInterval: number;
  /** Export name of the step budget global (also listed in `globals`). */
  budgetGlobal: string;
  globals: MarkedGlobal[];
  /**
   * Most bytes one frame adds to the unwind data (./frame-bound.ts): the runtime sizes its unwind
   * region from it. Since MARKER_REVISION 2; absent from modules instrumented before.
   */
  maxFrameBytes?: number;
  /**
   * By function name (the name section's, as V8 reports frames), the functions whose frames take
   * fewer bytes than `maxFrameBytes`; any other frame counts as `maxFrameBytes`. Since
   * MARKER_REVISION 3.
   */
  frameBytes?: Record<string, number>;
}

/** Asyncify's control exports as the host calls them. */
export interface AsyncifyExports {
  asyncify_start_unwind(ptr: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(ptr: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
}

/** The marker of an instrumented module, or undefined for a plain one. */
export function readMarker(module: WebAssembly.Module): InstrumentMarker | undefined {
  const [section] = WebAssembly.Module.customSections(module, MARKER_SECTION);
  return section ? (JSON.parse(new TextDecoder().decode(section)) as InstrumentMarker) : undefined;
}
