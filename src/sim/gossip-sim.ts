/**
 * A deterministic discrete-event simulation of a gossip cluster running the real
 * {@link GossipNode}. Every node ticks once per interval at its own random phase; messages go
 * through {@link SimNetwork}. Same options + same seed = the same run, event for event.
 *
 * Ticks are not kept in the event heap: with fixed periods and fixed phases their order is the
 * same every round, so a sorted array and a cursor replace 10 000 heap operations per interval.
 * Only messages (whose latency varies) use the heap.
 */
import { seededRandom } from '../core/random.js';
import type { Random } from '../core/random.js';
import { decodeWindowOrThrow, encodeWindow } from '../gossip/codec.js';
import type { WindowPolicy } from '../gossip/config.js';
import { DenseIdTable } from '../gossip/ids.js';
import { GossipNode } from '../gossip/node.js';
import type { Address, Effect, NodeInfo, WindowMessage } from '../gossip/types.js';
import { NodeFlags } from '../gossip/types.js';
import { SimClock } from './clock.js';
import { EventQueue } from './event-queue.js';
import { PERFECT_NETWORK, SimNetwork } from './network.js';
import type { NetworkOptions } from './network.js';

export interface GossipSimOptions {
  /** Nodes present at time 0. */
  readonly nodes: number;
  /** Most nodes that may ever exist (joins included); sizes the per-node arrays. Default nodes + 16. */
  readonly maxNodes?: number;
  readonly window: WindowPolicy;
  readonly seed: number;
  readonly intervalMs?: number;
  readonly maxAgeMs?: number;
  /** Nodes are split round-robin into this many clusters named c0, c1, … Default 1. */
  readonly clusters?: number;
  readonly ownClusterProbability?: number;
  readonly anyNodeProbability?: number;
  readonly transitEstimateMs?: number;
  readonly network?: NetworkOptions;
  /** Push every message through the binary codec (slower; exercises encode/decode). */
  readonly useCodec?: boolean;
  /**
   * Who the initial nodes know at start: `one-seed` (everyone knows node 0's address only, a cold
   * start as after a cluster-wide boot) or `all` (every address, as from a static cluster map).
   */
  readonly bootstrap?: 'one-seed' | 'all';
}

interface Delivery {
  readonly atMs: number;
  readonly seq: number;
  readonly from: number;
  readonly to: number;
  readonly message: WindowMessage;
}

const SIM_INFO: NodeInfo = {
  cpus: 4,
  speed: 10_000,
  load: 0,
  freeMemBytes: 8 * 2 ** 30,
  totalMemBytes: 16 * 2 ** 30,
  freeSwapBytes: 0,
  totalSwapBytes: 0,
  guests: 0,
  flags: NodeFlags.acceptingGuests,
};

export function simAddress(index: number): Address {
  return `n${index}`;
}

export class GossipSim {
  readonly clock = new SimClock();
  readonly network: SimNetwork;
  readonly intervalMs: number;
  readonly nodes: GossipNode[] = [];
  /** A generator for the experiment driver, separate from the nodes' and the network's. */
  readonly random: Random;

  private readonly options: GossipSimOptions;
  private readonly ids: DenseIdTable;
  private readonly maxNodes: number;
  private readonly alive: Uint8Array;
  private readonly phaseMs: Float64Array;
  /** Node indices sorted by phase: the tick order within every round. */
  private order: number[] = [];
  private round = 0;
  private cursor = 0;
  private readonly queue = new EventQueue<Delivery>();
  private seq = 0;
  private readonly setupRandom: Random;

  constructor(options: GossipSimOptions) {
    this.options = options;
    this.intervalMs = options.intervalMs ?? 1000;
    this.maxNodes = options.maxNodes ?? options.nodes + 16;
    this.ids = new DenseIdTable(this.maxNodes);
    this.alive = new Uint8Array(this.maxNodes);
    this.phaseMs = new Float64Array(this.maxNodes);
    // Stream numbers: 0 setup, 1 network, 2 driver, 1000+i node i.
    this.setupRandom = seededRandom(options.seed, 0);
    this.network = new SimNetwork(
      seededRandom(options.seed, 1),
      options.network ?? PERFECT_NETWORK,
    );
    this.random = seededRandom(options.seed, 2);
    const bootstrap = options.bootstrap ?? 'one-seed';
    const all = Array.from({ length: options.nodes }, (_, i) => simAddress(i));
    for (let i = 0; i < options.nodes; i++) {
      this.createNode(bootstrap === 'all' ? all : i === 0 ? [] : [simAddress(0)]);
    }
  }

  get now(): number {
    return this.clock.now();
  }

  get size(): number {
    return this.nodes.length;
  }

  isAlive(index: number): boolean {
    return this.alive[index] === 1;
  }

  aliveCount(): number {
    let count = 0;
    for (let i = 0; i < this.nodes.length; i++) count += this.alive[i]!;
    return count;
  }

  /** Starts a new node that knows only `seeds`; it first ticks at a random phase. Returns its index. */
  addNode(seeds: readonly Address[]): number {
    return this.createNode(seeds);
  }

  /** Crash-stops a node: it never ticks again and messages to it vanish. */
  kill(index: number): void {
    this.alive[index] = 0;
  }

  partition(groupOf: (index: number) => number): void {
    this.network.partition(this.nodes.length, groupOf);
  }

  heal(): void {
    this.network.heal();
  }

  /** How many live nodes other than `index` hold a live entry about it. O(n). */
  knownBy(index: number): number {
    const now = this.now;
    let count = 0;
    for (let i = 0; i < this.nodes.length; i++) {
      if (i !== index && this.alive[i] === 1 && this.nodes[i]!.knows(index, now)) count++;
    }
    return count;
  }

  runIntervals(intervals: number): void {
    this.runUntil(this.now + intervals * this.intervalMs);
  }

  /** Processes every event with time ≤ `tMs`, then sets the clock to `tMs`. */
  runUntil(tMs: number): void {
    const interval = this.intervalMs;
    const phase = this.phaseMs;
    for (;;) {
      const order = this.order;
      const tickIndex = order[this.cursor];
      const tickAt = tickIndex === undefined ? Infinity : this.round * interval + phase[tickIndex]!;
      const next = this.queue.peek();
      if (next !== undefined && next.atMs <= tickAt) {
        if (next.atMs > tMs) break;
        this.queue.pop();
        this.clock.advanceTo(next.atMs);
        if (this.alive[next.to] === 1) {
          const node = this.nodes[next.to]!;
          this.dispatch(next.to, node.receive(simAddress(next.from), next.message, next.atMs));
        }
        continue;
      }
      if (tickAt > tMs || tickIndex === undefined) break;
      if (++this.cursor === order.length) {
        this.cursor = 0;
        this.round++;
      }
      // A node that joined after its phase had passed in this round starts in the next one.
      if (tickAt < this.clock.now()) continue;
      this.clock.advanceTo(tickAt);
      if (this.alive[tickIndex] === 1)
        this.dispatch(tickIndex, this.nodes[tickIndex]!.tick(tickAt));
    }
    this.clock.advanceTo(tMs);
  }

  private dispatch(from: number, effects: readonly Effect[]): void {
    for (const effect of effects) {
      const to = this.network.resolve(effect.to);
      const atMs = this.network.route(from, to, this.now);
      if (atMs < 0) continue;
      const message = this.options.useCodec
        ? decodeWindowOrThrow(encodeWindow(effect.message))
        : effect.message;
      this.queue.push({ atMs, seq: this.seq++, from, to, message });
    }
  }

  private createNode(seeds: readonly Address[]): number {
    const index = this.nodes.length;
    if (index >= this.maxNodes) {
      throw new RangeError(`simulation sized for ${this.maxNodes} nodes; raise maxNodes`);
    }
    const o = this.options;
    const clusters = o.clusters ?? 1;
    const config = {
      id: index,
      cluster: `c${index % clusters}`,
      address: simAddress(index),
      info: SIM_INFO,
      intervalMs: this.intervalMs,
      window: o.window,
      seeds,
      ...(o.maxAgeMs !== undefined && { maxAgeMs: o.maxAgeMs }),
      ...(o.ownClusterProbability !== undefined && {
        ownClusterProbability: o.ownClusterProbability,
      }),
      ...(o.anyNodeProbability !== undefined && { anyNodeProbability: o.anyNodeProbability }),
      ...(o.transitEstimateMs !== undefined && { transitEstimateMs: o.transitEstimateMs }),
    };
    const node = new GossipNode(config, seededRandom(o.seed, 1000 + index), {
      ids: this.ids,
      capacityHint: this.maxNodes,
    });
    this.nodes.push(node);
    this.alive[index] = 1;
    this.network.attach(node.address, index);
    // Random phase: without it all nodes would tick in lockstep, which the formulas do not assume.
    const phase = this.setupRandom.float() * this.intervalMs;
    this.phaseMs[index] = phase;
    let pos = this.order.length;
    while (pos > 0 && this.phaseMs[this.order[pos - 1]!]! > phase) pos--;
    this.order.splice(pos, 0, index);
    // Inserted before the cursor: its phase in this round has passed; it starts next round.
    if (pos < this.cursor) this.cursor++;
    return index;
  }
}
