/**
 * Where a new program should start (`osmo run -b`, MOSIX's "best node"): the node on which it
 * would get the largest share of a reference processor, given what gossip says of each node.
 * Pure: the daemon and the simulator call it with their view.
 */
import { NodeFlags } from '../gossip/types.js';
import type { NodeInfo } from '../gossip/types.js';

export interface Candidate {
  readonly name: string;
  readonly info: NodeInfo;
  readonly self: boolean;
}

export interface PlacementNeeds {
  /** Memory the program will need (mosrun -m); only nodes with that much free qualify. */
  readonly memoryBytes: number;
  /**
   * How much better (as a ratio of shares) another node must be than home to be worth a move
   * (a move costs time and every system call then crosses the network).
   */
  readonly homeAdvantage: number;
}

export const DEFAULT_HOME_ADVANTAGE = 1.1;

/**
 * The share of a reference processor one more process would get on a node: its per-CPU speed
 * times the fraction of a CPU left when it joins the run queue. `load` is gossiped already
 * divided by CPUs × speed/10 000, so the run queue is load × CPUs × speed/10 000.
 */
export function expectedShare(info: NodeInfo): number {
  const speed = info.speed / 10_000;
  if (info.cpus <= 0 || speed <= 0) return 0;
  const runQueue = Math.max(0, info.load) * info.cpus * speed;
  return speed * Math.min(1, info.cpus / (runQueue + 1));
}

/** The node to start on: the best qualifying one, or the own node (self) when none is better enough. */
export function chooseNode(
  candidates: readonly Candidate[],
  needs: PlacementNeeds,
): Candidate | undefined {
  const self = candidates.find((c) => c.self);
  let best: Candidate | undefined;
  let bestShare = -1;
  for (const c of candidates) {
    if (c.self) continue;
    if ((c.info.flags & NodeFlags.acceptingGuests) === 0) continue;
    if ((c.info.flags & (NodeFlags.draining | NodeFlags.reserved)) !== 0) continue;
    if (c.info.freeMemBytes < needs.memoryBytes) continue;
    const share = expectedShare(c.info);
    if (share > bestShare || (share === bestShare && best !== undefined && c.name < best.name)) {
      best = c;
      bestShare = share;
    }
  }
  if (self === undefined) return best;
  const homeFits = self.info.freeMemBytes >= needs.memoryBytes;
  if (best === undefined) return self;
  if (homeFits && bestShare <= expectedShare(self.info) * needs.homeAdvantage) return self;
  return best;
}
