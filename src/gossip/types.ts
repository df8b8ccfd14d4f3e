/**
 * The data the gossip layer disseminates. Everything here is plain, immutable data: records are
 * shared by reference between the vectors of many simulated nodes, so nobody may mutate them.
 */
import type { Address } from '../core/transport.js';

export type { Address };

/**
 * A node's identity: an unsigned 32-bit number, like a MOSIX node number. Numbers (not strings)
 * keep the wire format compact and let the simulator index nodes directly.
 */
export type NodeId = number;

/** MOSIX speed units: a processor of speed 10 000 is the reference processor. */
export const REFERENCE_SPEED = 10_000;

/** Status bits carried in {@link NodeInfo.flags}; the numbering is part of the wire format. */
export const NodeFlags = {
  /** The node accepts migrated guests. */
  acceptingGuests: 1 << 0,
  /** The node is shutting down and pushing its guests away. */
  draining: 1 << 1,
  /** The node's owner reserved it; only its own processes run. */
  reserved: 1 << 2,
  /** The node runs native programs (osmo run -E; its config `native`). */
  native: 1 << 3,
} as const;

/**
 * Resource information of one node at the moment it was sampled. Opaque to gossip (it only
 * carries it); the balancing policy interprets it.
 */
export interface NodeInfo {
  /** Number of processors. */
  readonly cpus: number;
  /** Relative speed of one processor (MOSIX convention: 10 000 is a reference processor). */
  readonly speed: number;
  /** Smoothed run-queue load, already divided by speed; float32 precision on the wire. */
  readonly load: number;
  readonly freeMemBytes: number;
  readonly totalMemBytes: number;
  readonly freeSwapBytes: number;
  readonly totalSwapBytes: number;
  /** Guest processes currently running here. */
  readonly guests: number;
  /** A combination of {@link NodeFlags}. */
  readonly flags: number;
}

/** What one node says about itself: identity, where to reach it, and its resources. */
export interface NodeRecord {
  readonly id: NodeId;
  readonly cluster: string;
  readonly address: Address;
  readonly info: NodeInfo;
}

export const GOSSIP_VERSION = 1;

/**
 * A gossip window in memory. `records[i]` was `agesMs[i]` old when the message was built; ages
 * are relative, never timestamps, so sender and receiver need no synchronised clocks.
 * `records[0]` is the sender's own entry at age 0.
 */
export interface WindowMessage {
  readonly version: number;
  /**
   * Time the sender knows the message spent on its side after the ages were taken (e.g. in a
   * send queue), added by the receiver to every age. The core sends 0; a transport may raise it.
   */
  readonly ageOffsetMs: number;
  readonly records: readonly NodeRecord[];
  readonly agesMs: readonly number[] | Float64Array;
}

/** One entry of a node's view: a record and how old it is now. */
export interface Entry extends NodeRecord {
  readonly ageMs: number;
}

/** Something the caller of the sans-IO core must do. */
export type Effect = {
  readonly kind: 'send';
  readonly to: Address;
  readonly message: WindowMessage;
};

/** Counters for the "drop it, count it" rule; monotonically increasing. */
export interface GossipStats {
  ticks: number;
  messagesReceived: number;
  entriesAccepted: number;
  /** Not newer than the entry already held. */
  entriesStale: number;
  /** Older than maxAgeMs on arrival. */
  entriesExpired: number;
  /** Negative or non-finite age: a sender from the future or a corrupt message. */
  entriesFromFuture: number;
  /** Claims about this node itself, which only this node may make. */
  entriesAboutSelf: number;
  messagesWrongVersion: number;
  /** Threshold windows cut at `maxEntries` while entries young enough were left out. */
  windowsCapped: number;
}
