/**
 * The target's consent to a move (MOSIX: a migration is a request the target may refuse). A home
 * decides on a view up to a few gossip intervals old, and every home decides on its own: several
 * may pick the same node that looked idle, or one that got new work since. The target knows its
 * run queue now, so it takes a load or speed move only while no more processes run there than
 * the decision counted on; a refused process stays where it is and its home decides again on
 * the next round, with fresher gossip. Memory moves (a node short of memory must be relieved) and
 * moves home (always taken) are not asked.
 *
 * Measured in the simulator (docs/simulator-balance.md): steady load at random homes, mean
 * slowdown 2.18 → 1.70–1.84 (seeds 1–3) and migrations per job 3.2 → 0.8; fewer moves and an equal
 * or better mean slowdown in every scenario.
 */
import type { MoveReason } from './policy.js';

/** Whether a move of this reason is the target's to refuse on load. */
export function needsConsent(reason: MoveReason): boolean {
  return reason === 'load' || reason === 'speed';
}

/** A run queue length as a message may carry it: a finite number, not negative. */
export function isQueueLength(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

/**
 * Run queues are measured (smoothed, in fractions of a process) on real nodes: only a difference
 * of more than half a process counts as a change. Exact counts (the simulator's) are unaffected.
 */
export const CONSENT_SLACK = 0.5;

/**
 * Whether the target takes a process whose home counted on `expectedQueue` processes there,
 * when `actualQueue` run there now (those on their way here included).
 */
export function consentsToMove(expectedQueue: number, actualQueue: number): boolean {
  return actualQueue <= expectedQueue + CONSENT_SLACK;
}

/**
 * Nodes a new program's start is offered to (osmo run -b), each chosen without those that
 * refused it; the last is not asked for its consent (it takes the start unless it is full). A
 * refused start run at home instead crowded the homes, whose programs then moved at full price
 * (simulator: docs/adr/0010 round 8).
 */
export const MAX_START_NODES = 3;

/** Whether a start offered after `refusedSoFar` refusals asks its node's consent. */
export function startAsksConsent(refusedSoFar: number): boolean {
  return refusedSoFar + 1 < MAX_START_NODES;
}
