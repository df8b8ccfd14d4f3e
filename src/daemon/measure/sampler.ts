/**
 * Turns OS readings into the NodeInfo this node gossips. The OS is reached through
 * {@link SystemProbe} so tests can feed readings; the daemon passes the /proc one.
 */
import { NodeFlags } from '../../gossip/types.js';
import type { NodeInfo } from '../../gossip/types.js';
import type { MemorySample } from '../../platform/system-info.js';
import { normaliseLoad, smoothLoad } from './load.js';

export interface SystemProbe {
  readRunQueue(): number;
  readMemory(): MemorySample;
}

export interface SamplerSettings {
  readonly cpus: number;
  /** Raised by the daemon's re-measurements (speed.ts, raisedSpeed). */
  speed: number;
  readonly maxGuests: number;
  readonly acceptGuests: boolean;
  /** Runs native programs (config `native`): gossiped, so that osmo run -E -b finds it. */
  readonly native?: boolean;
}

export class NodeSampler {
  private smoothed = 0;
  private memory: MemorySample;
  /** Guests running here or admitted (the daemon copies its runner pool's count). */
  guests = 0;
  draining = false;
  /** Guests refused by the administrator (osmo ctl block), whatever the configuration says. */
  blocked = false;
  /**
   * Whether the node is held for work outside Osmosis (osmo ctl reserve, a SLURM job): no
   * guests, flag gossiped. The daemon points it at its reservations, the one place that knows.
   */
  isReserved: () => boolean = () => false;

  constructor(
    private readonly probe: SystemProbe,
    readonly settings: SamplerSettings,
  ) {
    this.memory = probe.readMemory();
    this.smoothed = probe.readRunQueue();
  }

  /** Takes one sample (once per loadSampleIntervalMs). */
  sample(): void {
    this.smoothed = smoothLoad(this.smoothed, this.probe.readRunQueue());
    this.memory = this.probe.readMemory();
  }

  get smoothedRunQueue(): number {
    return this.smoothed;
  }

  info(): NodeInfo {
    const s = this.settings;
    const reserved = this.isReserved();
    const accepting =
      s.acceptGuests && !this.blocked && !reserved && !this.draining && this.guests < s.maxGuests;
    const flags =
      (accepting ? NodeFlags.acceptingGuests : 0) |
      (this.draining ? NodeFlags.draining : 0) |
      (reserved ? NodeFlags.reserved : 0) |
      (s.native ? NodeFlags.native : 0);
    return {
      cpus: s.cpus,
      speed: s.speed,
      load: normaliseLoad(this.smoothed, s.cpus, s.speed),
      ...this.memory,
      guests: this.guests,
      flags,
    };
  }
}

/**
 * Words for the status column: "accepting" or "blocked" ("reserved" instead when a reservation is
 * why), plus draining.
 */
export function statusWords(flags: number): string[] {
  const reserved = (flags & NodeFlags.reserved) !== 0;
  const words = [
    (flags & NodeFlags.acceptingGuests) !== 0 ? 'accepting' : reserved ? 'reserved' : 'blocked',
  ];
  if ((flags & NodeFlags.draining) !== 0) words.push('draining');
  if ((flags & NodeFlags.native) !== 0) words.push('native');
  return words;
}
