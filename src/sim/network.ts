/**
 * The simulated datagram network: decides for each message whether it arrives and when. Seeded
 * latency (uniform in [min, max]), independent loss, and partitions into groups that cannot
 * reach each other until healed. Knows nothing about gossip; it routes addresses to node indices.
 */
import type { Random } from '../core/random.js';
import type { Address } from '../core/transport.js';

export interface NetworkOptions {
  readonly latencyMinMs: number;
  readonly latencyMaxMs: number;
  /** Probability that a datagram is lost, independently of all others. */
  readonly lossRate: number;
}

export const PERFECT_NETWORK: NetworkOptions = { latencyMinMs: 0, latencyMaxMs: 0, lossRate: 0 };

export interface NetworkStats {
  sent: number;
  lost: number;
  partitioned: number;
  unroutable: number;
}

export class SimNetwork {
  readonly stats: NetworkStats = { sent: 0, lost: 0, partitioned: 0, unroutable: 0 };
  private readonly byAddress = new Map<Address, number>();
  /** Partition group per node index; undefined = no partition in force. */
  private groups: Int32Array | undefined;

  constructor(
    private readonly random: Random,
    private readonly options: NetworkOptions = PERFECT_NETWORK,
  ) {
    if (!(options.latencyMinMs >= 0 && options.latencyMaxMs >= options.latencyMinMs)) {
      throw new RangeError(
        `latency range [${options.latencyMinMs}, ${options.latencyMaxMs}] invalid`,
      );
    }
    if (!(options.lossRate >= 0 && options.lossRate <= 1)) {
      throw new RangeError(`loss rate ${options.lossRate} must be in [0, 1]`);
    }
  }

  attach(address: Address, index: number): void {
    this.byAddress.set(address, index);
  }

  resolve(address: Address): number {
    return this.byAddress.get(address) ?? -1;
  }

  /** Splits the network: nodes with different `groupOf` values can no longer talk. */
  partition(nodeCount: number, groupOf: (index: number) => number): void {
    const groups = new Int32Array(nodeCount);
    for (let i = 0; i < nodeCount; i++) groups[i] = groupOf(i);
    this.groups = groups;
  }

  heal(): void {
    this.groups = undefined;
  }

  /** The delivery time of a datagram sent now from `from` to `to`, or −1 if it is dropped. */
  route(from: number, to: number, nowMs: number): number {
    this.stats.sent++;
    if (to < 0) {
      this.stats.unroutable++;
      return -1;
    }
    const groups = this.groups;
    // Nodes added after the partition started are outside every group: isolated from all.
    if (groups !== undefined && (groups[from] ?? -1 - from) !== (groups[to] ?? -2 - to)) {
      this.stats.partitioned++;
      return -1;
    }
    const { lossRate, latencyMinMs, latencyMaxMs } = this.options;
    if (lossRate > 0 && this.random.float() < lossRate) {
      this.stats.lost++;
      return -1;
    }
    if (latencyMaxMs === 0) return nowMs;
    return nowMs + latencyMinMs + this.random.float() * (latencyMaxMs - latencyMinMs);
  }
}
