/**
 * Opportunity cost (Amir, Awerbuch, Barak, Borgstrom, Keren 2000; Keren and Barak 2003): each
 * resource of a node costs base^utilisation, so a resource near saturation is very expensive and
 * an idle one almost free; a process is worth placing where the *marginal* cost of its demand is
 * least, summed over resources. The base is 2n for n nodes, as in the paper's competitive
 * analysis. Exponentials of loads overflow a double at a few hundred processes per node (or at a
 * utilisation of ~77 with 10 000 nodes), so everything here works on natural logarithms of costs.
 */

/** ln(base^after − base^before) for after > before, computed without forming base^after. */
export function logMarginal(before: number, after: number, lnBase: number): number {
  // base^after − base^before = base^before · (base^(after−before) − 1)
  return before * lnBase + Math.log(Math.expm1((after - before) * lnBase));
}

/** ln(e^a + e^b), exact for very different magnitudes. */
export function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** The natural logarithm of the cost base for a cluster of `nodes` nodes. */
export function lnCostBase(nodes: number): number {
  return Math.log(2 * Math.max(1, nodes));
}

export interface Utilisation {
  /** Processes per unit of CPU capacity (CPUs × speed / reference speed). */
  readonly cpu: number;
  /** Used memory over total memory. */
  readonly memory: number;
}

/**
 * ln of the marginal cost of going from `before` to `after` on one node, summed over CPU and
 * memory (a resource whose use does not grow adds nothing).
 */
export function logMarginalCost(before: Utilisation, after: Utilisation, lnBase: number): number {
  let total = -Infinity;
  if (after.cpu > before.cpu) total = logAdd(total, logMarginal(before.cpu, after.cpu, lnBase));
  if (after.memory > before.memory)
    total = logAdd(total, logMarginal(before.memory, after.memory, lnBase));
  return total;
}
