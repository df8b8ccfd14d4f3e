/**
 * Configuration of one gossip node. Every duration is in milliseconds and says so in its name;
 * {@link resolveGossipConfig} fills defaults and reports every problem at once.
 */
import { OsmoError } from '../core/errors.js';
import type { Address, NodeId, NodeInfo } from './types.js';

/**
 * Which entries a node sends each interval.
 * - `fixed`: its own entry plus the `size − 1` youngest others (the variant the age formulas and
 *   the reference daemon use; default window 20 there).
 * - `threshold`: every entry with age ≤ `thresholdMs`, capped at `maxEntries` youngest so a
 *   datagram stays bounded when many entries are young at once.
 */
export type WindowPolicy =
  | { readonly kind: 'fixed'; readonly size: number }
  | { readonly kind: 'threshold'; readonly thresholdMs: number; readonly maxEntries: number };

export interface GossipConfig {
  readonly id: NodeId;
  readonly cluster: string;
  readonly address: Address;
  /** Resources at start; later samples come through `GossipNode.setInfo`. */
  readonly info: NodeInfo;
  /** One gossip "time unit". Default 1000; the reference daemon uses 500. */
  readonly intervalMs: number;
  /** Default `{ kind: 'fixed', size: 16 }`. */
  readonly window: WindowPolicy;
  /**
   * Entries older than this are dropped (how departed nodes fade out). Must comfortably exceed
   * the expected maximal age (see formulas.ts) or live nodes flicker out. Default 600 000.
   */
  readonly maxAgeMs: number;
  /** Tombstones of expired nodes are kept this much longer, so rejoins can be probed. Default 10× maxAgeMs. */
  readonly deadRetentionMs: number;
  /** Probability of choosing the gossip target inside the own cluster when possible. Default 0.9. */
  readonly ownClusterProbability: number;
  /** Probability of choosing any node ever known, including ones believed dead. Default 0.01. */
  readonly anyNodeProbability: number;
  /**
   * Transit time the receiver adds to every received age. Without synchronised clocks one-way
   * delay cannot be measured, so this is an estimate: 0 (default; ages are underestimated by
   * the network delay, negligible on a LAN against a 1 s interval) or e.g. intervalMs / 2.
   */
  readonly transitEstimateMs: number;
  /** Addresses to contact while no other node is known (how a new node joins). */
  readonly seeds: readonly Address[];
  /** Answer a window from an unknown (or believed dead) sender with our own, so joiners learn fast. Default true. */
  readonly replyToNewcomers: boolean;
  /** Tombstone-sweep budget per tick (slots inspected). Default 8. */
  readonly sweepSlotsPerTick: number;
}

export type GossipConfigInput = Pick<GossipConfig, 'id' | 'cluster' | 'address' | 'info'> &
  Partial<Omit<GossipConfig, 'id' | 'cluster' | 'address' | 'info'>>;

export const GOSSIP_DEFAULTS = {
  intervalMs: 1000,
  window: { kind: 'fixed', size: 16 } as WindowPolicy,
  maxAgeMs: 600_000,
  ownClusterProbability: 0.9,
  anyNodeProbability: 0.01,
  transitEstimateMs: 0,
  seeds: [] as readonly Address[],
  replyToNewcomers: true,
  sweepSlotsPerTick: 8,
} as const;

/** Most entries one window may carry; keeps a window within one UDP datagram. */
export const MAX_WINDOW_ENTRIES = 256;

function isProbability(x: number): boolean {
  return Number.isFinite(x) && x >= 0 && x <= 1;
}

export function resolveGossipConfig(input: GossipConfigInput): GossipConfig {
  const maxAgeMs = input.maxAgeMs ?? GOSSIP_DEFAULTS.maxAgeMs;
  const config: GossipConfig = {
    id: input.id,
    cluster: input.cluster,
    address: input.address,
    info: input.info,
    intervalMs: input.intervalMs ?? GOSSIP_DEFAULTS.intervalMs,
    window: input.window ?? GOSSIP_DEFAULTS.window,
    maxAgeMs,
    deadRetentionMs: input.deadRetentionMs ?? 10 * maxAgeMs,
    ownClusterProbability: input.ownClusterProbability ?? GOSSIP_DEFAULTS.ownClusterProbability,
    anyNodeProbability: input.anyNodeProbability ?? GOSSIP_DEFAULTS.anyNodeProbability,
    transitEstimateMs: input.transitEstimateMs ?? GOSSIP_DEFAULTS.transitEstimateMs,
    seeds: input.seeds ?? GOSSIP_DEFAULTS.seeds,
    replyToNewcomers: input.replyToNewcomers ?? GOSSIP_DEFAULTS.replyToNewcomers,
    sweepSlotsPerTick: input.sweepSlotsPerTick ?? GOSSIP_DEFAULTS.sweepSlotsPerTick,
  };
  const problems: string[] = [];
  if (!Number.isInteger(config.id) || config.id < 0 || config.id > 0xffffffff)
    problems.push(`id ${config.id} must be an unsigned 32-bit integer`);
  if (config.cluster.length === 0) problems.push('cluster must not be empty');
  if (config.address.length === 0) problems.push('address must not be empty');
  if (!(config.intervalMs > 0)) problems.push(`intervalMs ${config.intervalMs} must be > 0`);
  const w = config.window;
  if (w.kind === 'fixed') {
    if (!Number.isInteger(w.size) || w.size < 1 || w.size > MAX_WINDOW_ENTRIES)
      problems.push(`window.size ${w.size} must be an integer in 1..${MAX_WINDOW_ENTRIES}`);
  } else {
    if (!(w.thresholdMs >= 0)) problems.push(`window.thresholdMs ${w.thresholdMs} must be ≥ 0`);
    if (!Number.isInteger(w.maxEntries) || w.maxEntries < 1 || w.maxEntries > MAX_WINDOW_ENTRIES)
      problems.push(
        `window.maxEntries ${w.maxEntries} must be an integer in 1..${MAX_WINDOW_ENTRIES}`,
      );
  }
  if (!(config.maxAgeMs > 0)) problems.push(`maxAgeMs ${config.maxAgeMs} must be > 0`);
  if (!(config.deadRetentionMs >= 0))
    problems.push(`deadRetentionMs ${config.deadRetentionMs} must be ≥ 0`);
  if (!isProbability(config.ownClusterProbability))
    problems.push(`ownClusterProbability ${config.ownClusterProbability} must be in [0, 1]`);
  if (!isProbability(config.anyNodeProbability))
    problems.push(`anyNodeProbability ${config.anyNodeProbability} must be in [0, 1]`);
  if (!(config.transitEstimateMs >= 0) || !Number.isFinite(config.transitEstimateMs))
    problems.push(`transitEstimateMs ${config.transitEstimateMs} must be a finite number ≥ 0`);
  if (!Number.isInteger(config.sweepSlotsPerTick) || config.sweepSlotsPerTick < 0)
    problems.push(`sweepSlotsPerTick ${config.sweepSlotsPerTick} must be an integer ≥ 0`);
  if (problems.length > 0) {
    throw new OsmoError('E_CONFIG', `invalid gossip config: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return config;
}
