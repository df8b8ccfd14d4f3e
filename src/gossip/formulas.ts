/**
 * The age formulas of Amar, Barak, Drezner & Okun (2009) for n nodes gossiping once per time
 * unit. Pure functions of (n, T) or (n, w); ages are in time units (gossip intervals). See
 * shared/research/gossip.md for the table these are tested against.
 *
 * Meanings, which the simulator's measurements must match:
 * - meanAge: expected age of an entry about another node, averaged over a vector.
 * - maxAge: expected maximum age within one node's vector at one instant
 *   (≈ the expected maximum of n exponential refresh waits: H_n / rate).
 */
import { OsmoError } from '../core/errors.js';

const EULER_GAMMA = 0.5772156649015329;

function check(n: number, w?: number): void {
  if (!(Number.isInteger(n) && n >= 3)) {
    throw new OsmoError('E_USAGE', `gossip formulas need an integer n ≥ 3, got ${n}`);
  }
  if (w !== undefined && !(w > 0 && w < n)) {
    throw new OsmoError('E_USAGE', `gossip formulas need 0 < w < n, got w=${w} for n=${n}`);
  }
}

/** X_T: expected number of entries with age ≤ T (the expected threshold-window size). */
export function expectedWindowSize(n: number, thresholdT: number): number {
  check(n);
  const e = Math.exp((n * thresholdT) / (n - 1));
  return (n * e) / (n - 1 + e);
}

/** T(w): the threshold whose expected window size is w (inverse of {@link expectedWindowSize}). */
export function thresholdForWindow(n: number, w: number): number {
  check(n, w);
  return ((n - 1) / n) * Math.log((w * (n - 1)) / (n - w));
}

/** A_w: mean age of the entries in a threshold-T window. */
export function meanWindowAge(n: number, thresholdT: number): number {
  const x = expectedWindowSize(n, thresholdT);
  const lnSum = Math.log(n - 1 + Math.exp((n * thresholdT) / (n - 1)));
  return thresholdT - ((n - 1) / x) * (lnSum - Math.log(n));
}

/** A_v: expected average age of a whole vector. */
export function meanVectorAge(n: number, thresholdT: number): number {
  const x = expectedWindowSize(n, thresholdT);
  return 1 / (1 - Math.pow(1 - 1 / (n - 1), x)) + meanWindowAge(n, thresholdT);
}

/** Expected maximal age in one vector for a window of (expected) size x. */
export function expectedMaxAge(n: number, x: number): number {
  check(n, x);
  return -(Math.log(n) + EULER_GAMMA) / (x * Math.log(1 - 1 / (n - 1)));
}

/** Expected number of nodes holding a given node's entry with age ≤ t, for t > T. */
export function entriesWithAgeAtMost(n: number, thresholdT: number, t: number): number {
  const x = expectedWindowSize(n, thresholdT);
  const aw = meanWindowAge(n, thresholdT);
  return n * (1 - Math.pow(1 - 1 / (n - 1), x * (t - aw)));
}

/**
 * The age t at which a fraction `f` of the nodes hold an entry at most t old: the inverse of
 * {@link entriesWithAgeAtMost}. Read as "time for a fresh update (or a new node) to become known
 * to a fraction f of the nodes".
 */
export function timeToReachFraction(n: number, w: number, f: number): number {
  const t = thresholdForWindow(n, w);
  const aw = meanWindowAge(n, t);
  return aw + Math.log(1 - f) / (w * Math.log(1 - 1 / (n - 1)));
}

export interface GossipFormulaValues {
  readonly n: number;
  readonly w: number;
  /** Age threshold equivalent to the fixed window. */
  readonly thresholdT: number;
  readonly meanWindowAge: number;
  readonly meanAge: number;
  readonly maxAge: number;
  /** The paper's closed-form approximations: (n−1)/w + ½ + A_w and (n−1)(ln n + γ)/w. */
  readonly approxMeanAge: number;
  readonly approxMaxAge: number;
}

/** All formula values for a fixed window of w entries (the own entry included). */
export function fixedWindowFormulas(n: number, w: number): GossipFormulaValues {
  const thresholdT = thresholdForWindow(n, w);
  const aw = meanWindowAge(n, thresholdT);
  return {
    n,
    w,
    thresholdT,
    meanWindowAge: aw,
    meanAge: meanVectorAge(n, thresholdT),
    maxAge: expectedMaxAge(n, w),
    approxMeanAge: (n - 1) / w + 0.5 + aw,
    approxMaxAge: ((n - 1) * (Math.log(n) + EULER_GAMMA)) / w,
  };
}
