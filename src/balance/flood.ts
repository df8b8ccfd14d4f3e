/**
 * MOSIX's flood control (seed 000, III-E): a node runs at most `limit` of its own programs at
 * once — a user who starts hundreds, or programs coming home en masse from a cluster that leaves,
 * must not exhaust its CPU and memory. The programs beyond the limit are frozen (image to disk,
 * memory freed) and reactivated "in a circular fashion": one waiting longer than a turn takes the
 * place of one that has run longer than a turn; and as the balancer moves running programs away,
 * the frozen ones come back to fill their places. Pure: the home balancer feeds it its readings
 * and carries out the decision.
 */

export interface FloodProgram {
  readonly id: number;
  /** Runs at home now (not away, not frozen, not being moved or frozen). */
  readonly runningHere: boolean;
  /** Frozen by flood control (a program its user froze is never continued here). */
  readonly frozenByFlood: boolean;
  /** May be frozen now: preemptible and running here. */
  readonly freezable: boolean;
  /** Since when it runs here, or waits frozen (ms, the caller's clock). */
  readonly sinceMs: number;
}

export interface FloodDecision {
  /** To freeze, newest arrivals first. */
  readonly freeze: readonly number[];
  /** To continue, longest waiting first. */
  readonly resume: readonly number[];
}

export interface FloodInput {
  readonly programs: readonly FloodProgram[];
  /** Most programs of this home running here at once; 0 = no limit. */
  readonly limit: number;
  /** A frozen program waits at most about this long before it takes a running one's place; 0 = never. */
  readonly turnMs: number;
  readonly nowMs: number;
}

export function decideFlood(input: FloodInput): FloodDecision {
  const waiting = input.programs
    .filter((p) => p.frozenByFlood)
    .sort((a, b) => a.sinceMs - b.sinceMs || a.id - b.id);
  if (input.limit <= 0) return { freeze: [], resume: waiting.map((p) => p.id) };
  const running = input.programs.filter((p) => p.runningHere);
  // Newest arrivals are the ones frozen: the programs that ran here first keep going.
  const freezable = running
    .filter((p) => p.freezable)
    .sort((a, b) => b.sinceMs - a.sinceMs || b.id - a.id);
  const excess = running.length - input.limit;
  if (excess > 0) return { freeze: freezable.slice(0, excess).map((p) => p.id), resume: [] };
  const room = -excess;
  const resume = waiting.slice(0, room).map((p) => p.id);
  if (input.turnMs <= 0 || waiting.length <= room) return { freeze: [], resume };
  // Turns: each program waiting a turn or more trades places with one that ran a turn or more
  // (the longest-running first), so every program gets some work done.
  const due = (p: FloodProgram): boolean => input.nowMs - p.sinceMs >= input.turnMs;
  const waitedLong = waiting.slice(room).filter(due);
  const ranLong = freezable.filter(due).reverse();
  const swaps = Math.min(waitedLong.length, ranLong.length);
  return {
    freeze: ranLong.slice(0, swaps).map((p) => p.id),
    resume: [...resume, ...waitedLong.slice(0, swaps).map((p) => p.id)],
  };
}
