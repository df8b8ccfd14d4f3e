/**
 * Guests leaving this node because it asks them to (ADR 0013): the administrator's `osmo ctl
 * expel`, and the priority method (cluster-priority.ts) pushing out guests ranked below a program
 * that moves in or below the node's own programs. The node only asks: each guest's home moves it
 * (node request `expel`), as every move is coordinated at home.
 */
import type { Logger } from '../platform/logger.js';
import {
  MAX_CLUSTER_PRIORITY,
  OWN_CLUSTER_PRIORITY,
  priorityOf,
  pushedOutBy,
} from './cluster-priority.js';
import type { ClusterPriorities } from './cluster-priority.js';
import type { ExpelOutcome } from './control-protocol.js';
import type { ExpelReason } from './home-balancer.js';
import type { GuestOf } from './runner-pool.js';

export interface EvictionsOptions {
  /** This node's name and cluster, and its ranking of the others. */
  readonly node: string;
  readonly cluster: string;
  readonly priorities: ClusterPriorities;
  readonly log: Logger;
  /** The guests here now. */
  readonly guests: () => readonly GuestOf[];
  /** A live node's cluster, as the gossip view shows it. */
  readonly clusterOf: (node: string) => string | undefined;
  /** How many programs of this node's own run here now. */
  readonly ownProgramsHere: () => number;
  /** Sends node `home` the request `expel` (throws if it cannot be asked); where it sends it. */
  readonly askHome: (
    home: string,
    args: { pid: number; from: string; reason: ExpelReason },
  ) => Promise<{ to: string }>;
}

/** Why a native program (osmo run -E) is not expelled or pushed out. */
const NATIVE_STAYS = 'a native program: it never moves, and leaves this node when it ends';

export class Evictions {
  /** Guests (home:pid) pushed out whose homes have not answered yet: asked once. */
  private readonly pushing = new Set<string>();

  constructor(private readonly o: EvictionsOptions) {}

  /** Whether clusters are ranked here at all (without, nothing is ever pushed out). */
  get ranking(): boolean {
    return Object.keys(this.o.priorities).length > 0;
  }

  /**
   * Asks each guest's home to move it away from here; where each goes, or why it could not ask. A
   * native program is not asked for: it never moves.
   */
  expel(guests: readonly GuestOf[], reason: ExpelReason): Promise<ExpelOutcome[]> {
    return Promise.all(
      guests.map(async ({ home, pid, native }) => {
        if (native === true) return { home, pid, error: NATIVE_STAYS };
        try {
          const answer = await this.o.askHome(home, { pid, from: this.o.node, reason });
          return { home, pid, to: answer.to };
        } catch (error) {
          return { home, pid, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
  }

  /** A cluster's rank here. */
  rankOf(cluster: string | undefined): number | 'block' | 'unrecognized' {
    return priorityOf(cluster, this.o.cluster, this.o.priorities);
  }

  /** Every guest with its rank (a guest whose home is gone or refused here ranks worst). */
  guestRanks(): (GuestOf & { priority: number })[] {
    return this.o.guests().map((g) => {
      const rank = this.rankOf(this.o.clusterOf(g.home));
      return { ...g, priority: typeof rank === 'number' ? rank : MAX_CLUSTER_PRIORITY + 1 };
    });
  }

  /**
   * What admission weighs (admission.ts): the worst-ranked guest here, and — when clusters are
   * ranked — the best-ranked process here (the node's own programs rank best).
   */
  admissionRanks(): { worstGuestPriority?: number; bestPriorityHere?: number } {
    const ranks = this.guestRanks().map((g) => g.priority);
    const worst = ranks.length === 0 ? {} : { worstGuestPriority: Math.max(...ranks) };
    if (!this.ranking) return worst;
    if (this.o.ownProgramsHere() > 0) ranks.push(OWN_CLUSTER_PRIORITY);
    return ranks.length === 0 ? worst : { ...worst, bestPriorityHere: Math.min(...ranks) };
  }

  /** A program of rank `arriving` moved in: the guests ranked worse are asked to leave. */
  pushOut(arriving: number, why: string): void {
    const ranks = this.guestRanks();
    const out = pushedOutBy(
      arriving,
      ranks.map((g) => g.priority),
    )
      .map((i) => ranks[i]!)
      .filter((g) => g.native !== true && !this.pushing.has(`${g.home}:${g.pid}`));
    if (out.length === 0) return;
    for (const g of out) this.pushing.add(`${g.home}:${g.pid}`);
    this.o.log.info('guests pushed out', {
      why,
      guests: out.map((g) => `${g.home}:${g.pid} (priority ${g.priority})`),
    });
    void this.expel(out, 'pushed out').then((results) => {
      for (const g of out) this.pushing.delete(`${g.home}:${g.pid}`);
      for (const r of results) {
        if (r.error !== undefined)
          this.o.log.warn('guest not pushed out', { home: r.home, pid: r.pid, error: r.error });
      }
    });
  }

  /** Each balancing round: the node's own programs running here push other clusters' guests out. */
  pushOutForOwnPrograms(): void {
    if (this.ranking && this.o.ownProgramsHere() > 0)
      this.pushOut(OWN_CLUSTER_PRIORITY, "this node's own programs run here");
  }
}
