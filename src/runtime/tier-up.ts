/**
 * Re-entering a running program so that it runs V8's optimised code (ADR 0011).
 *
 * V8 compiles a wasm function first with its baseline compiler (Liftoff) and later, once the
 * function has run enough, with its optimising one (TurboFan) — but a call already running keeps
 * its baseline code: wasm has no on-stack replacement. A compute program spends its life in one
 * call (a loop in `main`), so it would run baseline code to the end (measured 1.4–2.1× slower).
 * An instrumented program can be unwound and rewound at any tick; rewinding calls every function
 * on its stack again, and those calls take the optimised code. So the guest does that a few times
 * early in each instance's life (a move or a restore starts a new instance: the schedule starts
 * again there).
 */
import { memoryLimits, parseSections } from './wasm-sections.js';

/** Wall-clock ms since the instance started at which it re-enters once (a tick after each). */
export const REENTRY_AFTER_MS: readonly number[] = [100, 1000, 10000];

/**
 * Deepest stack re-entered, in frames. Deeper, the program is not re-entered at that time: the
 * count costs ~1 µs a frame, and a deep recursion makes new calls all the time, which take the
 * optimised code by themselves.
 */
export const REENTRY_MAX_FRAMES = 2000;

/**
 * The first re-entry grows a region of the program's memory (reused afterwards:
 * unwind-region.ts). Under a declared maximum (`--max-memory`, or the module's own) that would be
 * taken from what the program may allocate, and change what it does: such a program is never
 * re-entered. Nor is one using more than REENTRY_MAX_MEMORY_BYTES (half of wasm32's 4 GiB).
 */
export const REENTRY_MAX_MEMORY_BYTES = 2 ** 31;

/** Whether a program of these bytes may be re-entered (no declared memory maximum). */
export function reentryAllowed(bytes: Uint8Array, env: NodeJS.ProcessEnv = process.env): boolean {
  // `OSMOSIS_REENTRY=off` turns re-entry off (to measure what it gains).
  if (env.OSMOSIS_REENTRY === 'off') return false;
  const limits = memoryLimits(parseSections(bytes));
  return limits !== undefined && limits.maxPages === undefined;
}

/** When the next re-entry is due; `next()` after each one (done or skipped). */
export class ReentrySchedule {
  private index = 0;
  private startedAt = 0;

  constructor(
    private readonly now: () => number,
    private readonly afterMs: readonly number[] = REENTRY_AFTER_MS,
  ) {}

  /** The instance starts (or starts again in a new process): the schedule restarts. */
  start(): void {
    this.startedAt = this.now();
    this.index = 0;
  }

  due(): boolean {
    const at = this.afterMs[this.index];
    return at !== undefined && this.now() - this.startedAt >= at;
  }

  next(): void {
    this.index++;
  }

  /** No more re-entries in this instance (e.g. no memory left for a region). */
  stop(): void {
    this.index = this.afterMs.length;
  }
}
