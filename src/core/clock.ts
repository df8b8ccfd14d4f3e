/**
 * The only way the pure cores learn the time. The daemon passes a system clock (platform layer),
 * the simulator a simulated one, so the same algorithm runs in both and tests never sleep.
 */
export interface Clock {
  /** Milliseconds on a monotonic time line. Only differences are meaningful; never wall time. */
  now(): number;
}
