/**
 * Maps node ids to small dense "slots" so a node's vector lives in typed arrays indexed by slot
 * instead of a Map of objects: with 10 000 simulated nodes each knowing 10 000 others, that is
 * the difference between ~1 GB of flat arrays and several GB of hash-map entries.
 */
import type { NodeId } from './types.js';

export interface IdTable {
  /** The slot of `id`, allocating one on first sight. */
  slotOf(id: NodeId): number;
  /** The slot of `id`, or −1 if it was never seen. Never allocates. */
  peek(id: NodeId): number;
}

/** General table for the daemon: ids are arbitrary u32 values, slots are handed out in order. */
export class MapIdTable implements IdTable {
  private readonly slots = new Map<NodeId, number>();

  slotOf(id: NodeId): number {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(id, slot);
    }
    return slot;
  }

  peek(id: NodeId): number {
    return this.slots.get(id) ?? -1;
  }
}

/**
 * Identity table for ids that already are small dense integers (the simulator numbers its nodes
 * 0..n−1). Shared by all simulated nodes; it holds no per-node knowledge, so sharing it does not
 * leak information between them.
 */
export class DenseIdTable implements IdTable {
  constructor(private readonly limit: number) {}

  slotOf(id: NodeId): number {
    if (!(id >= 0 && id < this.limit && Number.isInteger(id))) {
      throw new RangeError(`node id ${id} outside the dense range 0..${this.limit - 1}`);
    }
    return id;
  }

  peek(id: NodeId): number {
    return id >= 0 && id < this.limit && Number.isInteger(id) ? id : -1;
  }
}
