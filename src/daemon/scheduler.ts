/**
 * Periodic work without setInterval: each run is scheduled for an absolute time on the monotonic
 * clock, `start + phase + k·period`, so a late timer does not push every later run back (no
 * drift), and runs missed while the process was stalled are skipped, not bunched. The phase is
 * random so that the nodes of a cluster started together do not gossip in lockstep (the
 * algorithm assumes independent phases).
 */
import type { Clock } from '../core/clock.js';

/** Next run time after `now`, for a schedule anchored at `anchor` (pure; unit-tested). */
export function nextRunAt(anchor: number, periodMs: number, now: number): number {
  if (now < anchor) return anchor;
  const k = Math.floor((now - anchor) / periodMs) + 1;
  return anchor + k * periodMs;
}

export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly anchor: number;

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    /** Fraction of a period (0..1) before the first run. */
    phase: number,
    private readonly run: (nowMs: number) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.anchor = clock.now() + phase * periodMs;
    this.schedule(this.anchor);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.fire(at), Math.max(0, at - this.clock.now()));
  }

  private fire(at: number): void {
    if (this.stopped) return;
    let now = this.clock.now();
    // setTimeout may fire a little early on some platforms: never run before the planned time.
    if (now < at) {
      this.schedule(at);
      return;
    }
    try {
      this.run(now);
    } catch (e) {
      this.onError(e);
    }
    now = this.clock.now();
    this.schedule(nextRunAt(this.anchor, this.periodMs, now));
  }
}
