/**
 * Messages between a node daemon and the guest runner processes it starts (Node's IPC channel,
 * advanced serialization so module bytes travel without base64).
 */

/** Runner → daemon. */
export type RunnerNotice =
  /** Listening for its deputy's link on this port. */
  | { t: 'ready'; port: number }
  /** A module arrived: the daemon may cache it for later guests. */
  | { t: 'module'; hash: string; bytes: Uint8Array }
  /** The guest runs here (true) or no longer (false). */
  | { t: 'running'; now: boolean }
  /**
   * A native program's process group, before it runs: if this runner dies first (SIGKILL: it
   * cannot end the group itself), the daemon ends the group. The program waits for `recorded`.
   */
  | { t: 'group'; pgid: number };

/** Daemon → runner. */
export type RunnerOrder = Assignment | { t: 'recorded'; pgid: number };

export interface Assignment {
  t: 'assign';
  /** Per-migration secret (hex): the runner accepts only a link proving it. */
  token: string;
  /** The module, when the daemon had it cached. */
  module?: { hash: string; bytes: Uint8Array };
  /** Wrap the link in TLS. */
  tls: boolean;
  /** The guest is a native program (osmo run -E), not a module: native/native-runner.ts. */
  native?: boolean;
}

/**
 * How long a native program waits for its daemon to confirm its group before it starts anyway:
 * only a daemon that died just then does not answer (its runner outlives it).
 */
export const GROUP_RECORD_WAIT_MS = 5000;

/** An admitted guest that has not connected within this long is given up (ms). */
export const ASSIGNMENT_TIMEOUT_MS = 10_000;
