/**
 * CPU speed from a short calibrated benchmark at start-up, in MOSIX speed units (10 000 = the
 * reference processor). The kernel mixes integer multiply, xor-shift and a data-dependent branch,
 * so neither a wide vector unit nor a deep pipeline alone decides the score; it runs for a fixed
 * wall time and keeps the best of a few rounds (the first ones include JIT warm-up). The daemon
 * measures again a few times after start-up and keeps the fastest ({@link raisedSpeed}).
 *
 * REFERENCE_ITERATIONS_PER_MS is the score of the reference processor; it was set from this
 * kernel on one core of an AMD EPYC server (Node 20, 2025), so such a core reads ≈ 10 000. Speeds are
 * relative: only their ratios between nodes matter, and config `speed` overrides the measurement.
 */
import { readFileSync } from 'node:fs';
import { REFERENCE_SPEED } from './load.js';

export const REFERENCE_ITERATIONS_PER_MS = 230_000;

/** One block of the kernel; returns a value so the JIT cannot drop the loop. */
function kernel(iterations: number, seed: number): number {
  let x = seed | 0;
  let acc = 0;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    acc = (acc + Math.imul(x, 0x9e3779b1)) | 0;
    if ((x & 7) === 3) acc ^= i;
  }
  return acc;
}

export interface SpeedResult {
  readonly speed: number;
  readonly iterationsPerMs: number;
  readonly elapsedMs: number;
}

/** CPU time of this process in ms: the rate is per CPU-ms, so other busy processes (several
 * daemons starting at once on one host) do not make this one look slow. */
export function processCpuMs(): number {
  try {
    // Linux: ns this thread spent on a CPU, exact (getrusage is tick-sampled, too coarse here).
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    if (Number.isFinite(ns) && ns > 0) return ns / 1e6;
  } catch {
    // not Linux
  }
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Measures for about `budgetMs` (default 120 ms of wall time, `now`), rating each round by the
 * CPU time it used (`cpuMs`).
 */
export function measureSpeed(
  now: () => number,
  budgetMs = 120,
  cpuMs: () => number = processCpuMs,
): SpeedResult {
  const start = now();
  const block = 20_000;
  let sink = 0;
  // Round 0 warms the JIT up and is not counted; the rest are summed, not maxed, because the
  // kernel updates a running thread's CPU time only at ticks: per-round readings are off by up
  // to a tick each, and the maximum of several would pick the luckiest error.
  const rounds = 4;
  let countedIterations = 0;
  let countedCpuMs = 0;
  let countedWallMs = 0;
  for (let r = 0; r < rounds; r++) {
    const roundStart = now();
    const cpuStart = cpuMs();
    let iterations = 0;
    while (now() - roundStart < budgetMs / rounds) {
      sink ^= kernel(block, iterations + r + 1);
      iterations += block;
    }
    if (r === 0) continue;
    countedIterations += iterations;
    countedCpuMs += cpuMs() - cpuStart;
    countedWallMs += now() - roundStart;
  }
  // Never divide by ~0 (a coarse clock), nor believe a CPU time far below a quarter of wall time.
  const best = countedIterations / Math.max(1, countedCpuMs, 0.25 * countedWallMs);
  if (sink === 0.5) return { speed: 0, iterationsPerMs: 0, elapsedMs: 0 }; // never: keeps `sink` live
  const speed = Math.max(1, Math.round((best / REFERENCE_ITERATIONS_PER_MS) * REFERENCE_SPEED));
  return { speed, iterationsPerMs: best, elapsedMs: now() - start };
}

/** Below this gain a re-measurement is noise (tick-granular CPU time): the speed stays. */
const RAISE_MIN_RATIO = 1.02;

/**
 * The speed to gossip after a re-measurement, or undefined to keep `current`. Only upwards:
 * whatever else runs on the node (other daemons starting, a compiler thread not yet done with
 * the kernel) can only make a measurement slower, so the fastest one is the truest.
 */
export function raisedSpeed(current: number, measured: number): number | undefined {
  return measured >= current * RAISE_MIN_RATIO ? measured : undefined;
}
