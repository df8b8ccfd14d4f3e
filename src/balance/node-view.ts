/** What gossip says of a node, in the terms the balancing policy works in. */
import { NodeFlags } from '../gossip/types.js';
import type { NodeInfo } from '../gossip/types.js';
import { REFERENCE_SPEED } from './policy.js';
import type { NodeView } from './policy.js';

/** `load` is gossiped divided by CPUs × speed / 10 000: the run queue is that product back. */
export function runQueueOf(info: NodeInfo): number {
  return (Math.max(0, info.load) * info.cpus * info.speed) / REFERENCE_SPEED;
}

export function nodeViewOf(name: string, info: NodeInfo): NodeView {
  const blocked = NodeFlags.draining | NodeFlags.reserved;
  return {
    name,
    cpus: info.cpus,
    speed: info.speed,
    runQueue: runQueueOf(info),
    freeMemBytes: info.freeMemBytes,
    totalMemBytes: info.totalMemBytes,
    accepting: (info.flags & NodeFlags.acceptingGuests) !== 0 && (info.flags & blocked) === 0,
  };
}
