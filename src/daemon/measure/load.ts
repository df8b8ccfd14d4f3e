/**
 * The load figure a node advertises, after the MOSIX policy (research/gossip.md): the run-queue
 * length is sampled every second; the mean load RISES as a 5:3 (old:new) weighted average — so a
 * short burst does not make a node look busy at once and attract no migrations away — and DROPS
 * AT ONCE to a lower sample, so freed capacity is advertised without delay. Loads are then divided
 * by CPU speed so that a fast node with the same queue looks less loaded.
 *
 * Pure functions: the measurement loop in the daemon feeds them samples.
 */

import { REFERENCE_SPEED } from '../../gossip/types.js';

export { REFERENCE_SPEED };

/** One smoothing step: `previous` mean, `sample` = the run-queue length just read. */
export function smoothLoad(previous: number, sample: number): number {
  if (!Number.isFinite(sample) || sample < 0) return previous;
  if (sample <= previous) return sample;
  return (5 * previous + 3 * sample) / 8;
}

/**
 * The advertised load: the smoothed run queue per processor, in reference-processor units.
 * 1.0 means every processor has one process at reference speed; a node twice as fast with the
 * same queue shows 0.5.
 */
export function normaliseLoad(smoothed: number, cpus: number, speed: number): number {
  if (!(cpus > 0) || !(speed > 0)) return smoothed;
  return (smoothed * REFERENCE_SPEED) / (cpus * speed);
}

/** Fraction of processors busy (0..1), the "utilisation" of mosmon. */
export function utilisation(load: number, speed: number): number {
  if (!(speed > 0)) return 0;
  return Math.min(1, Math.max(0, (load * speed) / REFERENCE_SPEED));
}
