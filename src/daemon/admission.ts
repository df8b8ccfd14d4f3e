/**
 * Whether this node takes a guest (pure; the daemon feeds it its own state). A refused guest
 * stays where it was; the reason goes back to its deputy and from there to the user.
 */

export interface AdmitRequest {
  /** Name of the program's home node. */
  readonly home: string;
  readonly pid: number;
  /** Memory the program has (or will need), bytes. */
  readonly memoryBytes: number;
  /** sha256 of the instrumented module. */
  readonly moduleHash: string;
}

export interface AdmissionState {
  readonly node: string;
  readonly acceptGuests: boolean;
  readonly draining: boolean;
  /** Guests running here plus those admitted and on their way. */
  readonly guests: number;
  readonly maxGuests: number;
  readonly freeMemBytes: number;
  /** The home is a node this one knows (same cloud, alive in its view). */
  readonly homeKnown: boolean;
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function decideAdmission(request: AdmitRequest, s: AdmissionState): Admission {
  if (!s.homeKnown) {
    return refuse(`${s.node} does not know home node ${request.home} (not in its cluster view)`);
  }
  if (!s.acceptGuests) return refuse(`${s.node} does not accept guests (acceptGuests: false)`);
  if (s.draining) return refuse(`${s.node} is shutting down`);
  if (s.guests >= s.maxGuests) {
    return refuse(`${s.node} is at its guest limit (${s.guests} of ${s.maxGuests})`);
  }
  if (request.memoryBytes > s.freeMemBytes) {
    return refuse(
      `${s.node} has ${mib(s.freeMemBytes)} MiB free, the program needs ${mib(request.memoryBytes)} MiB`,
    );
  }
  return { ok: true };
}

function refuse(reason: string): Admission {
  return { ok: false, reason };
}

function mib(bytes: number): number {
  return Math.round(bytes / (1 << 20));
}
