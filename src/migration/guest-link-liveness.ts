/**
 * How a deputy and its guest's runner judge each other's silence. Heartbeats every second; after
 * three silent seconds the peer's host is asked whether it is up. A process that died has its
 * link closed by its kernel, so silence from a host that answers is a process that is not
 * running — stopped (Ctrl-Z, `kill -STOP`), starved or swapped out — and the link waits for it:
 * killing the program then would lose it for nothing. Only a host that does not answer (down, or
 * cut off from here) ends the link, and with it the program (no orphans).
 */
import { hostAnswers } from '../link/host-probe.js';
import type { LinkOptions } from '../link/connection.js';

export const GUEST_LINK_HEARTBEAT_MS = 1000;
/** A host that has not answered a connection attempt in this long is taken for down. */
const HOST_PROBE_TIMEOUT_MS = 2000;

export function guestLinkLiveness(
  o: {
    heartbeatMs?: number | undefined;
    /** Told the first time the peer was silent and its host answered (for the log). */
    onPeerNotRunning?: () => void;
  } = {},
): Required<Pick<LinkOptions, 'heartbeatMs' | 'peerHostUp'>> {
  let told = false;
  return {
    heartbeatMs: o.heartbeatMs ?? GUEST_LINK_HEARTBEAT_MS,
    peerHostUp: async (host, port) => {
      const up = await hostAnswers(host, port, HOST_PROBE_TIMEOUT_MS);
      if (up && !told) {
        told = true;
        o.onPeerNotRunning?.();
      }
      return up;
    },
  };
}
