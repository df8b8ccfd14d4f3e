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
   * A native program's process group, while it runs: if this runner dies first (SIGKILL: it
   * cannot end the group itself), the daemon ends the group.
   */
  | { t: 'group'; pgid: number };

/** Daemon → runner. */
export type RunnerOrder = {
  t: 'assign';
  /** Per-migration secret (hex): the runner accepts only a link proving it. */
  token: string;
  /** The module, when the daemon had it cached. */
  module?: { hash: string; bytes: Uint8Array };
  /** Wrap the link in TLS. */
  tls: boolean;
  /** The guest is a native program (osmo run -E), not a module: native/native-runner.ts. */
  native?: boolean;
};

/** An admitted guest that has not connected within this long is given up (ms). */
export const ASSIGNMENT_TIMEOUT_MS = 10_000;
