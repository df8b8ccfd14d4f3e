/**
 * The guest side of preemption for an instrumented module (docs/adr/0006-instrumentation.md):
 * answers the `osmosis.tick` import, unwinds the stack into a region at the end of linear
 * memory when the deputy asks for a suspension, and rewinds it — in the same instance after a
 * checkpoint, or in a new one restored from an image.
 */
import type { SnapshotGlobal, SnapshotStack } from '../snapshot/types.js';
import {
  ASYNCIFY_REWINDING,
  ASYNCIFY_UNWINDING,
  FAST_SWITCH_EXPORT,
  TICK_NAME,
} from '../instrument/contract.js';
import type { AsyncifyExports, InstrumentMarker } from '../instrument/contract.js';
import { Ctl, noteMemorySize } from './channel.js';
import { REENTRY_MAX_FRAMES, REENTRY_MAX_MEMORY_BYTES, type ReentrySchedule } from './tier-up.js';
import {
  fitsUsualRegion,
  STACK_REGION_BYTES,
  UnwindRegions,
  unwindRegionBytes,
  frameBoundsOf,
  type FrameBounds,
} from './unwind-region.js';

type ImportFn = (...args: never[]) => unknown;

/**
 * Thrown inside an import when the guest must suspend there: the deputy answered a call it did
 * not perform (or a local sleep was woken). The import wrapper unwinds; the rewind re-issues it.
 */
export class SuspendRequested extends Error {
  constructor() {
    super('suspend requested inside a system call');
    this.name = 'SuspendRequested';
  }
}

/** The errno the deputy answers a call with when the guest must suspend instead (not WASI's). */
export const SUSPEND_ERRNO = 0xffff;

export class GuestPreemption {
  private asyncify: AsyncifyExports | undefined;
  private exports: Record<string, unknown> = {};
  private memory: WebAssembly.Memory | undefined;
  /** Where unwinds write, and the region of the current unwind/rewind (./unwind-region.ts). */
  private readonly regions = new UnwindRegions();
  ticks = 0n;
  /** Tick counts at which the guest suspends itself (checkpoints at reproducible moments). */
  private selfSuspendAt: bigint[] = [];
  /** The current unwind is a re-entry: rewind at once, nobody is told. */
  private reentering = false;
  /** Re-entries done in this instance. */
  reentered = 0;
  /** What an unwind's region is sized from (./unwind-region.ts). */
  private readonly frameBounds: FrameBounds | undefined;

  constructor(
    readonly marker: InstrumentMarker,
    private readonly control: Int32Array,
    /** Told when a requested suspension cannot happen (the program keeps running). */
    private readonly onSuspendFailed: (why: string) => void,
    /** Re-entries for V8's optimised code (./tier-up.ts); undefined: none. */
    private readonly reentries?: ReentrySchedule,
  ) {
    this.frameBounds = frameBoundsOf(marker);
  }

  /** The `osmosis` import module: tick. */
  tickImports(): Record<string, ImportFn> {
    return {
      [TICK_NAME]: (): number => {
        if (this.rewindEndsHere()) return this.marker.tickInterval;
        this.ticks++;
        if (this.memory !== undefined) noteMemorySize(this.control, this.memory);
        if (this.selfSuspendAt[0] === this.ticks) {
          this.selfSuspendAt.shift();
          this.beginUnwind();
        } else if (this.suspendRequested()) this.beginUnwind();
        else if (this.reentries?.due() === true) this.beginReentry(this.reentries);
        return this.marker.tickInterval;
      },
    };
  }

  /**
   * Wraps WASI imports so that a rewind re-enters them and performs the call for real. (A call
   * that returns normally has completed; a suspension requested meanwhile happens at the next
   * tick, so no system call is ever half done in an image.)
   */
  wrapImports(imports: Record<string, ImportFn>): Record<string, ImportFn> {
    const out: Record<string, ImportFn> = {};
    for (const [name, fn] of Object.entries(imports)) {
      const call = fn as (...a: unknown[]) => unknown;
      out[name] = (...args: unknown[]) => {
        this.rewindEndsHere();
        try {
          return call(...args);
        } catch (error) {
          if (!(error instanceof SuspendRequested)) throw error;
          // The call was not performed: unwind here; the rewind calls it again. If there is
          // no room to unwind, perform it now instead.
          return this.beginUnwind() ? 0 : call(...args);
        }
      };
    }
    return out;
  }

  /** Suspends at each of these tick counts (ascending), as if the deputy had asked. */
  suspendAtTicks(ticks: readonly bigint[]): void {
    this.selfSuspendAt = [...ticks]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .filter((t) => t > this.ticks);
  }

  attach(instance: WebAssembly.Instance): void {
    this.exports = instance.exports;
    this.memory = this.exports.memory as WebAssembly.Memory;
    this.asyncify = this.exports as unknown as AsyncifyExports;
    this.reentries?.start();
    // Without re-entries no frame ever returns to optimised originals: the copies at once.
    if (this.reentries === undefined) this.useFastPaths();
  }

  /**
   * Turns the fast copies on (ADR 0006 round 6). Until then every call runs the original
   * functions, so the ones a long-lived frame runs (`main`'s loop) tier up, and the frames the
   * first re-entry rebuilds — in the originals, for as long as each lasts — get optimised code.
   */
  private useFastPaths(): void {
    const sw = this.exports[FAST_SWITCH_EXPORT];
    if (sw instanceof WebAssembly.Global) sw.value = 1;
  }

  /** True when `_start` returned because the stack was unwound (not because the program ended). */
  unwound(): boolean {
    if (this.asyncify?.asyncify_get_state() !== ASYNCIFY_UNWINDING) return false;
    this.asyncify.asyncify_stop_unwind();
    this.regions.unwound(this.memory!);
    return true;
  }

  /**
   * After `unwound()`: true if this unwind was a re-entry, now rewound — call `_start` again at
   * once. False: a suspension, which the deputy decides about.
   */
  reentry(): boolean {
    if (!this.reentering) return false;
    this.reentering = false;
    this.reentered++;
    this.rewindInPlace();
    return true;
  }

  /** The unwound stack, as an image stores it. */
  stack(): SnapshotStack {
    const { address, used } = this.regions.data();
    return { address, bytes: new Uint8Array(this.memory!.buffer, address, used) };
  }

  /** Exported mutable globals, read after the unwind (when __stack_pointer is the outermost). */
  globals(): SnapshotGlobal[] {
    return this.marker.globals.map((g) => ({
      name: g.export,
      type: g.type,
      value: (this.exports[g.export] as WebAssembly.Global).value,
    }));
  }

  /** Continues after a checkpoint in this same instance: rewind, then call `_start` again. */
  rewindInPlace(): void {
    this.asyncify!.asyncify_start_rewind(this.regions.data().address);
  }

  /** Restores an image into this fresh instance (memory already copied): globals, then rewind. */
  rewindFrom(globals: readonly SnapshotGlobal[], stack: SnapshotStack): void {
    for (const g of globals) (this.exports[g.name] as WebAssembly.Global).value = g.value;
    const bytes = new Uint8Array(this.memory!.buffer);
    bytes.set(stack.bytes, stack.address);
    this.regions.restoring(stack.address, stack.bytes);
    // The header's current pointer marks the end of the data; rewinding reads from the start.
    this.asyncify!.asyncify_start_rewind(stack.address);
  }

  /** Whether the deputy has asked for a suspension (local sleeps check it when woken). */
  suspendRequested(): boolean {
    return Atomics.load(this.control, Ctl.SUSPEND) !== 0;
  }

  /**
   * At the call where the unwind began (tick, or a WASI import), the rewind is over: Asyncify
   * stops rewinding and the region's data is spent. True if a rewind ended here.
   */
  private rewindEndsHere(): boolean {
    if (this.asyncify?.asyncify_get_state() !== ASYNCIFY_REWINDING) return false;
    this.asyncify.asyncify_stop_rewind();
    this.regions.rewound(this.memory!);
    return true;
  }

  private beginUnwind(): boolean {
    // Sized from the live stack: an unwind never runs past its region (./unwind-region.ts).
    const bytes = unwindRegionBytes(this.frameBounds);
    if (this.unwindInto(bytes)) return true;
    // Over the memory's maximum (--max-memory): no room to unwind into; the program goes on.
    Atomics.store(this.control, Ctl.SUSPEND, 0);
    this.onSuspendFailed(
      `no memory left for the ${Math.ceil(bytes / 2 ** 20)} MiB its stack needs to suspend into (raise --max-memory)`,
    );
    return false;
  }

  private beginReentry(schedule: ReentrySchedule): void {
    schedule.next();
    this.useFastPaths();
    if (this.memory!.buffer.byteLength > REENTRY_MAX_MEMORY_BYTES) return schedule.stop();
    // Only a shallow stack that fits the usual region: a re-entry never grows a bigger one, and
    // counting a deep stack would cost more than the re-entry gains (./unwind-region.ts).
    if (!fitsUsualRegion(this.marker.maxFrameBytes, REENTRY_MAX_FRAMES)) return;
    if (this.unwindInto(STACK_REGION_BYTES)) this.reentering = true;
    else schedule.stop(); // no memory for a region: the program goes on as it is
  }

  /** Starts an unwind into a region of `bytes` (./unwind-region.ts); false if there is none. */
  private unwindInto(bytes: number): boolean {
    const region = this.regions.take(this.memory!, bytes);
    if (region === undefined) return false;
    this.asyncify!.asyncify_start_unwind(region);
    return true;
  }
}
