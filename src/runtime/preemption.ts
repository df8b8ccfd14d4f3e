/**
 * The guest side of preemption for an instrumented module (docs/adr/0006-instrumentation.md):
 * answers the `osmosis.tick` import, unwinds the stack into a fresh region at the end of linear
 * memory when the deputy asks for a suspension, and rewinds it — in the same instance after a
 * checkpoint, or in a new one restored from an image.
 */
import type { SnapshotGlobal, SnapshotStack } from '../snapshot/types.js';
import {
  ASYNCIFY_HEADER_BYTES,
  ASYNCIFY_REWINDING,
  ASYNCIFY_UNWINDING,
  TICK_NAME,
} from '../instrument/contract.js';
import type { AsyncifyExports, InstrumentMarker } from '../instrument/contract.js';
import { Ctl } from './channel.js';
import { REENTRY_MAX_FRAMES, REENTRY_MAX_MEMORY_BYTES, type ReentrySchedule } from './tier-up.js';
import { fitsUsualRegion, STACK_REGION_BYTES, unwindRegionBytes } from './unwind-region.js';

const PAGE = 65536;

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
  /** Address of the asyncify data header of the current unwind/rewind. */
  private region = 0;
  ticks = 0n;
  /** Tick counts at which the guest suspends itself (checkpoints at reproducible moments). */
  private selfSuspendAt: bigint[] = [];
  /** The current unwind is a re-entry: rewind at once, nobody is told. */
  private reentering = false;
  /** Re-entries done in this instance. */
  reentered = 0;
  /** Bytes of the last re-entry's region to zero once its rewind is over (0: none). */
  private reentryBytes = 0;

  constructor(
    readonly marker: InstrumentMarker,
    private readonly control: Int32Array,
    /** Told when a requested suspension cannot happen (the program keeps running). */
    private readonly onSuspendFailed: (why: string) => void,
    /** Re-entries for V8's optimised code (./tier-up.ts); undefined: none. */
    private readonly reentries?: ReentrySchedule,
  ) {}

  /** The `osmosis` import module: tick. */
  tickImports(): Record<string, ImportFn> {
    return {
      [TICK_NAME]: (): number => {
        if (this.asyncify?.asyncify_get_state() === ASYNCIFY_REWINDING) {
          this.asyncify.asyncify_stop_rewind();
          this.clearReentryRegion();
          return this.marker.tickInterval;
        }
        this.ticks++;
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
        if (this.asyncify?.asyncify_get_state() === ASYNCIFY_REWINDING)
          this.asyncify.asyncify_stop_rewind();
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
  }

  /** True when `_start` returned because the stack was unwound (not because the program ended). */
  unwound(): boolean {
    if (this.asyncify?.asyncify_get_state() !== ASYNCIFY_UNWINDING) return false;
    this.asyncify.asyncify_stop_unwind();
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
    this.reentryBytes =
      new DataView(this.memory!.buffer).getUint32(this.region, true) - this.region;
    this.rewindInPlace();
    return true;
  }

  /** The unwound stack, as an image stores it. */
  stack(): SnapshotStack {
    const view = new DataView(this.memory!.buffer);
    const used = view.getUint32(this.region, true) - this.region;
    return { address: this.region, bytes: new Uint8Array(this.memory!.buffer, this.region, used) };
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
    this.asyncify!.asyncify_start_rewind(this.region);
  }

  /** Restores an image into this fresh instance (memory already copied): globals, then rewind. */
  rewindFrom(globals: readonly SnapshotGlobal[], stack: SnapshotStack): void {
    for (const g of globals) (this.exports[g.name] as WebAssembly.Global).value = g.value;
    const bytes = new Uint8Array(this.memory!.buffer);
    bytes.set(stack.bytes, stack.address);
    this.region = stack.address;
    // The header's current pointer marks the end of the data; rewinding reads from the start.
    this.asyncify!.asyncify_start_rewind(stack.address);
  }

  /** Whether the deputy has asked for a suspension (local sleeps check it when woken). */
  suspendRequested(): boolean {
    return Atomics.load(this.control, Ctl.SUSPEND) !== 0;
  }

  private beginUnwind(): boolean {
    // Sized from the live stack: an unwind never runs past its region (./unwind-region.ts).
    const bytes = unwindRegionBytes(this.marker.maxFrameBytes);
    if (this.unwindIntoFreshRegion(bytes)) return true;
    // Over the memory's maximum (--max-memory): no room to unwind into; the program goes on.
    Atomics.store(this.control, Ctl.SUSPEND, 0);
    this.onSuspendFailed(
      `no memory left for the ${Math.ceil(bytes / 2 ** 20)} MiB its stack needs to suspend into (raise --max-memory)`,
    );
    return false;
  }

  private beginReentry(schedule: ReentrySchedule): void {
    schedule.next();
    if (this.memory!.buffer.byteLength > REENTRY_MAX_MEMORY_BYTES) return schedule.stop();
    // Only a shallow stack that fits the usual region: a re-entry never grows a bigger one, and
    // counting a deep stack would cost more than the re-entry gains (./unwind-region.ts).
    if (!fitsUsualRegion(this.marker.maxFrameBytes, REENTRY_MAX_FRAMES)) return;
    if (this.unwindIntoFreshRegion(STACK_REGION_BYTES)) this.reentering = true;
    else schedule.stop(); // no memory for a region: the program goes on as it is
  }

  /**
   * A re-entry unwinds at a tick, so its rewind ends in tick: the region is then spent; zeroed, it
   * costs nothing in a later image (zero pages are skipped).
   */
  private clearReentryRegion(): void {
    if (this.reentryBytes === 0) return;
    new Uint8Array(this.memory!.buffer, this.region, this.reentryBytes).fill(0);
    this.reentryBytes = 0;
  }

  private unwindIntoFreshRegion(bytes: number): boolean {
    const m = this.memory!;
    // A fresh region at the end, grown only now: wasi-libc's malloc claims [heap_base,
    // memory.size) lazily and would absorb a region grown earlier (research note, pitfalls).
    let first: number;
    try {
      first = m.grow(Math.ceil((bytes + ASYNCIFY_HEADER_BYTES) / PAGE));
    } catch {
      return false;
    }
    this.region = first * PAGE;
    const v = new DataView(m.buffer);
    v.setUint32(this.region, this.region + ASYNCIFY_HEADER_BYTES, true);
    v.setUint32(this.region + 4, this.region + ASYNCIFY_HEADER_BYTES + bytes, true);
    this.asyncify!.asyncify_start_unwind(this.region);
    return true;
  }
}
