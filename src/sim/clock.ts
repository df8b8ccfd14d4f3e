/** Simulated time: advanced only by the event loop, never by the wall clock. */
import type { Clock } from '../core/clock.js';

export class SimClock implements Clock {
  private t = 0;

  now(): number {
    return this.t;
  }

  /** Moves time forward to `tMs`; going back would reorder causality, so it is refused. */
  advanceTo(tMs: number): void {
    if (tMs < this.t)
      throw new RangeError(`simulated time cannot go back from ${this.t} to ${tMs}`);
    this.t = tMs;
  }
}
