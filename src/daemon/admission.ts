/**
 * Whether this node takes a guest (pure; the daemon feeds it its own state). A refused guest
 * stays where it was; the reason goes back to its deputy and from there to the user.
 */
import { consentsToMove } from '../balance/consent.js';
import type { NativeRequest } from './native-admission.js';

export interface AdmitRequest {
  /** Name of the program's home node. */
  readonly home: string;
  readonly pid: number;
  /** Memory the program has (or will need), bytes. */
  readonly memoryBytes: number;
  /** sha256 of the instrumented module; empty for a native program. */
  readonly moduleHash: string;
  /** A native program (osmo run -E) instead of a module: native-admission.ts decides too. */
  readonly native?: NativeRequest;
  /**
   * An automatic load or speed move, or a start on the node its home chose (osmo run -b): the
   * processes its home counted on here. Refused when more run here now (../balance/consent.ts).
   * Absent for moves a user asked for and starts on a node the user named (-r).
   */
  readonly expectedQueue?: number;
  /** The job the program belongs to (osmo run -J), for osmo ctl status here. */
  readonly job?: string;
}

export interface AdmissionState {
  readonly node: string;
  readonly acceptGuests: boolean;
  /** Blocked by the administrator (osmo ctl block). */
  readonly blocked?: boolean;
  /** Ids of the reservations holding the node for other work (osmo ctl reserve); none: open. */
  readonly reservations?: readonly string[];
  readonly draining: boolean;
  /** Guests running here plus those admitted and on their way. */
  readonly guests: number;
  readonly maxGuests: number;
  readonly freeMemBytes: number;
  /** Processes running here now, guests on their way included (what the node would gossip). */
  readonly runQueue: number;
  /** The home is a node this one knows (same cloud, alive in its view). */
  readonly homeKnown: boolean;
  /** The home's cluster and its rank here (cluster-priority.ts); absent: ranked with the own. */
  readonly homeCluster?: string;
  readonly homePriority?: number | 'block' | 'unrecognized';
  /** The worst-ranked guest here (the highest priority number); absent: none. */
  readonly worstGuestPriority?: number;
  /** The best-ranked process running here (0: the node's own programs); absent: none. */
  readonly bestPriorityHere?: number;
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function decideAdmission(request: AdmitRequest, s: AdmissionState): Admission {
  if (!s.homeKnown) {
    return refuse(`${s.node} does not know home node ${request.home} (not in its cluster view)`);
  }
  if (!s.acceptGuests) return refuse(`${s.node} does not accept guests (acceptGuests: false)`);
  const held = s.reservations ?? [];
  if (held.length > 0)
    return refuse(`${s.node} is reserved (${held.join(', ')}); osmo ctl release lifts it`);
  if (s.blocked === true)
    return refuse(`${s.node} is blocked by its administrator (osmo ctl unblock lifts it)`);
  if (s.draining) return refuse(`${s.node} is shutting down`);
  const rank = s.homePriority;
  if (rank === 'block')
    return refuse(
      `${s.node} blocks programs of cluster ${s.homeCluster ?? '?'} (clusterPriorities)`,
    );
  if (rank === 'unrecognized') {
    return refuse(
      `${s.node} does not take programs of cluster ${s.homeCluster ?? '?'} (not in its clusterPriorities)`,
    );
  }
  // It would only be pushed out again (and come back: ping-pong).
  if (rank !== undefined && s.bestPriorityHere !== undefined && s.bestPriorityHere < rank) {
    return refuse(
      `${s.node} runs programs ranked above cluster ${s.homeCluster ?? '?'} (priority ${rank})`,
    );
  }
  // A better-ranked program moves in even at the limit: it pushes a worse-ranked guest out.
  const pushesOut = rank !== undefined && (s.worstGuestPriority ?? -1) > rank;
  if (s.guests >= s.maxGuests && !pushesOut) {
    return refuse(`${s.node} is at its guest limit (${s.guests} of ${s.maxGuests})`);
  }
  if (request.memoryBytes > s.freeMemBytes) {
    return refuse(
      `${s.node} has ${mib(s.freeMemBytes)} MiB free, the program needs ${mib(request.memoryBytes)} MiB`,
    );
  }
  const expected = request.expectedQueue;
  if (expected !== undefined && !consentsToMove(expected, s.runQueue)) {
    return refuse(
      `${s.node} runs ${round1(s.runQueue)} processes, its home counted on ${round1(expected)} (its view was older)`,
    );
  }
  return { ok: true };
}

function refuse(reason: string): Admission {
  return { ok: false, reason };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function mib(bytes: number): number {
  return Math.round(bytes / (1 << 20));
}
