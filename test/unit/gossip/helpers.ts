import type { NodeInfo, NodeRecord, WindowMessage } from '../../../src/gossip/types.js';
import { GOSSIP_VERSION, NodeFlags } from '../../../src/gossip/types.js';

/** Seed for randomized tests; override with GOSSIP_SEED=… to replay a failure. */
export const SEED = Number(process.env.GOSSIP_SEED ?? 1);

export const INFO: NodeInfo = {
  cpus: 8,
  speed: 10_000,
  load: 0.75,
  freeMemBytes: 3 * 2 ** 30,
  totalMemBytes: 16 * 2 ** 30,
  freeSwapBytes: 2 ** 30,
  totalSwapBytes: 2 * 2 ** 30,
  guests: 2,
  flags: NodeFlags.acceptingGuests,
};

export function rec(id: number, cluster = 'a'): NodeRecord {
  return { id, cluster, address: `n${id}`, info: INFO };
}

export function windowOf(entries: [id: number, ageMs: number][], cluster = 'a'): WindowMessage {
  return {
    version: GOSSIP_VERSION,
    ageOffsetMs: 0,
    records: entries.map(([id]) => rec(id, cluster)),
    agesMs: entries.map(([, age]) => age),
  };
}
