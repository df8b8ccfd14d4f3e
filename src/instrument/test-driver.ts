/**
 * A minimal driver for instrumented modules, for tests and benchmarks: runs `_start` on the
 * calling thread with the stub WASI, suspends on request (at a tick or inside a WASI call), and
 * continues a suspended image in a new instance. The guest worker (src/runtime) implements the
 * same contract (docs/adr/0006-instrumentation.md) for real.
 */
import {
  ASYNCIFY_HEADER_BYTES,
  ASYNCIFY_REWINDING,
  ASYNCIFY_UNWINDING,
  FAST_SWITCH_EXPORT,
  readMarker,
  TICK_MODULE,
  TICK_NAME,
  WASI_MODULE,
  type AsyncifyExports,
  type InstrumentMarker,
} from './contract.js';
import { missingWasi, ProcExit, stubWasi, type StubWasiState } from './stub-wasi.js';

const PAGE = 65536;

export interface Image {
  /** Memory size in pages, and its non-zero pages (index → 64 KiB copy). */
  pages: number;
  data: Map<number, Uint8Array>;
  globals: Map<string, number | bigint>;
  /** Address of the asyncify data header {current, end} holding the unwound stack. */
  asyncifyData: number;
  host: StubWasiState;
}

export interface SuspendPolicy {
  /** Called at each tick (count from 1); true requests a suspend here. */
  atTick?: (tick: number) => boolean;
  /** Called before each WASI call (count from 1, all calls); true suspends inside the call. */
  atSyscall?: (name: string, call: number) => boolean;
}

export type Outcome =
  | { kind: 'exited'; code: number; host: StubWasiState; ticks: number }
  | { kind: 'suspended'; image: Image; ticks: number; unwindMs: number; stackBytes: number };

export interface DriverOptions {
  /** Value tick returns: the steps until the next tick. Defaults to the module's interval. */
  tickReset?: number;
  policy?: SuspendPolicy;
  /** Bytes grown at the end of memory for the unwound stack (≈ 28 per frame + locals). */
  asyncifyBytes?: number;
  /** Receives performance.now() at every tick (suspend latency measurements). */
  onTick?: (now: number) => void;
}

/**
 * Runs a module from `_start` (or, with `image`, continues it) until it exits or suspends.
 * Works on uninstrumented modules too (then it never suspends): the benchmark baseline.
 */
export function runGuest(
  module: WebAssembly.Module,
  host: StubWasiState,
  options: DriverOptions = {},
  image?: Image,
): Outcome {
  const marker = readMarker(module);
  const reset = options.tickReset ?? marker?.tickInterval ?? 1 << 20;
  const policy = options.policy ?? {};
  // Assigned once the instance exists; the imports below read it lazily.
  const live: { memory?: WebAssembly.Memory } = {};
  let asyncify: AsyncifyExports | undefined;
  let ticks = 0;
  let syscalls = 0;
  let unwindFrom = 0;
  let region = 0;

  const beginUnwind = (): void => {
    const bytes = options.asyncifyBytes ?? 1 << 20;
    // A fresh region at the end, grown only now: wasi-libc's malloc claims [heap_base,
    // memory.size) lazily and would absorb a region grown earlier (research note, pitfalls).
    const m = live.memory!;
    region = m.grow(Math.ceil((bytes + ASYNCIFY_HEADER_BYTES) / PAGE)) * PAGE;
    const v = new DataView(m.buffer);
    v.setUint32(region, region + ASYNCIFY_HEADER_BYTES, true);
    v.setUint32(region + 4, region + ASYNCIFY_HEADER_BYTES + bytes, true);
    unwindFrom = performance.now();
    asyncify!.asyncify_start_unwind(region);
  };

  const wasi = stubWasi(host, () => live.memory!);
  const wasiImports: Record<string, (...a: number[]) => number> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== WASI_MODULE || imp.kind !== 'function') continue;
    const fn = wasi[imp.name] ?? missingWasi;
    wasiImports[imp.name] = (...args: number[]): number => {
      if (asyncify?.asyncify_get_state() === ASYNCIFY_REWINDING) {
        // Re-entered by the rewind with the same arguments: the call now really happens.
        asyncify.asyncify_stop_rewind();
      } else if (asyncify && policy.atSyscall?.(imp.name, ++syscalls)) {
        beginUnwind();
        return 0; // ignored: the caller is unwinding
      }
      return fn(...args);
    };
  }
  const imports: WebAssembly.Imports = {
    [WASI_MODULE]: wasiImports,
    [TICK_MODULE]: {
      [TICK_NAME]: (): number => {
        if (asyncify?.asyncify_get_state() === ASYNCIFY_REWINDING) {
          asyncify.asyncify_stop_rewind();
          return reset;
        }
        ticks++;
        options.onTick?.(performance.now());
        if (asyncify && policy.atTick?.(ticks)) beginUnwind();
        return reset;
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  const ex = instance.exports as Record<string, unknown>;
  const memory = ex.memory as WebAssembly.Memory;
  live.memory = memory;
  // This driver never re-enters (ADR 0011): the fast copies from the start, like the runtime
  // without re-entries (src/runtime/preemption.ts).
  const fastSwitch = ex[FAST_SWITCH_EXPORT];
  if (fastSwitch instanceof WebAssembly.Global) fastSwitch.value = 1;
  // A counter-only build (cost measurements) has a marker but cannot suspend.
  if (typeof ex.asyncify_get_state === 'function') asyncify = ex as unknown as AsyncifyExports;

  if (image) restore(memory, ex, image, asyncify!);

  const start = ex._start as () => void;
  try {
    start();
  } catch (e) {
    if (e instanceof ProcExit) return { kind: 'exited', code: e.code, host, ticks };
    throw e;
  }
  if (asyncify?.asyncify_get_state() === ASYNCIFY_UNWINDING) {
    asyncify.asyncify_stop_unwind();
    const unwindMs = performance.now() - unwindFrom;
    const v = new DataView(memory.buffer);
    const stackBytes = v.getUint32(region, true) - region - ASYNCIFY_HEADER_BYTES;
    return {
      kind: 'suspended',
      image: capture(memory, ex, marker!, region, host),
      ticks,
      unwindMs,
      stackBytes,
    };
  }
  return { kind: 'exited', code: 0, host, ticks };
}

function capture(
  memory: WebAssembly.Memory,
  ex: Record<string, unknown>,
  marker: InstrumentMarker,
  region: number,
  host: StubWasiState,
): Image {
  const buf = memory.buffer;
  const pages = buf.byteLength / PAGE;
  const data = new Map<number, Uint8Array>();
  for (let p = 0; p < pages; p++) {
    const words = new BigUint64Array(buf, p * PAGE, PAGE / 8);
    if (words.some((w) => w !== 0n))
      data.set(p, new Uint8Array(buf.slice(p * PAGE, (p + 1) * PAGE)));
  }
  // Globals are read after the unwind: __stack_pointer is then back at the outermost frame's value.
  const globals = new Map<string, number | bigint>();
  for (const g of marker.globals) globals.set(g.export, (ex[g.export] as WebAssembly.Global).value);
  return { pages, data, globals, asyncifyData: region, host: structuredClone(host) };
}

function restore(
  memory: WebAssembly.Memory,
  ex: Record<string, unknown>,
  image: Image,
  asyncify: AsyncifyExports,
): void {
  // The initial pages hold the data segments, which the image supersedes: zero them first.
  new Uint8Array(memory.buffer).fill(0);
  const have = memory.buffer.byteLength / PAGE;
  if (image.pages > have) memory.grow(image.pages - have);
  const bytes = new Uint8Array(memory.buffer);
  for (const [p, page] of image.data) bytes.set(page, p * PAGE);
  for (const [name, value] of image.globals) (ex[name] as WebAssembly.Global).value = value;
  asyncify.asyncify_start_rewind(image.asyncifyData);
}
