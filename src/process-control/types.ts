/**
 * What a running Osmosis process exposes to its user through its control socket (issue 3,
 * "Control without a daemon"). `osmo run` implements {@link ProcessControl}; `osmo ps`,
 * `osmo checkpoint`, `osmo freeze` and `osmo continue` reach it through the socket.
 */

/**
 * `stopped` is `osmo ps`'s own finding (its `osmo run` is stopped: Ctrl-Z, SIGSTOP; a program
 * away is held where it runs): a stopped process cannot say anything itself. `starting`: its
 * program is being prepared (instrumented, seconds for a program new to the cache) and has not
 * run yet.
 */
export type ProcessState =
  'starting' | 'running' | 'frozen' | 'checkpointing' | 'migrating' | 'stopped';

export const PROCESS_STATES: readonly ProcessState[] = [
  'starting',
  'running',
  'frozen',
  'checkpointing',
  'migrating',
  'stopped',
];

export interface ProcessInfo {
  /** The deputy's (the `osmo run` process's) pid: the number users type. */
  pid: number;
  /** Node name of the process's home node; "local" until nodes have names here. */
  home: string;
  /** Node the program runs on now. */
  where: string;
  state: ProcessState;
  /** CPU time the program used so far, carried across checkpoints and restarts. */
  cpuTimeMs: number;
  /**
   * Of cpuTimeMs, what the runners of other nodes used for it (the rest is its home's: the
   * program itself while there, and its deputy serving its system calls wherever it runs).
   */
  awayCpuTimeMs?: number;
  /**
   * Time its system calls waited on home while it ran on other nodes (their runners measure it:
   * from sending a call to its answer): the balancer's measure of how much it talks to home.
   */
  awayHomeWaitMs?: number;
  /** Guest linear memory; 0 while frozen (the image is on disk). */
  memoryBytes: number;
  /** ISO 8601. */
  startedAt: string;
  /** The program and its arguments as given to `osmo run`. */
  command: string[];
  /** The job it belongs to (osmo run -J; a SLURM task's SLURM job), if any. */
  job?: string;
  /** May be frozen/migrated by the system (MOSIX: not "locked"). */
  preemptible: boolean;
  /** A native executable run as a batch job (osmo run -E): never frozen, checkpointed or moved. */
  native?: boolean;
  /** The last image written (checkpoint or freeze), if any. */
  checkpointFile?: string;
  /** ISO 8601: when it arrived where it runs (started, or its last move). */
  since?: string;
  /** The system may move it by itself (preemptible and not started with -L). */
  movable?: boolean;
  /** Moves it made so far, and the node it left on the last one (the balancer's hysteresis). */
  migrations?: number;
  cameFrom?: string;
  /** Memory it needs where it runs (osmo run -m); 0 when not said. */
  memoryNeedBytes?: number;
  /** System calls served by its deputy so far, and the bytes they read and wrote. */
  syscalls?: number;
  ioBytes?: number;
  /**
   * Its latest move (the one that made `migrations` what it is), whoever asked for it: its home's
   * balancer learns the links from each move's image and time on the wire.
   */
  lastMove?: MigrateResult;
}

/** The outcome of a migration. */
export interface MigrateResult {
  /** Node name, or "home". */
  from: string;
  to: string;
  /** Request → running at the target. */
  ms: number;
  imageBytes: number;
  /** The image's time on the wire: its first byte → its last, at the receiving side. */
  transferMs?: number;
}

/** The outcome of writing an image. */
export interface ImageResult {
  /** Absolute path of the image file. */
  file: string;
  bytes: number;
  ms: number;
}

/**
 * Implemented by the process side. Errors are thrown as OsmoError with a stable code; they reach
 * the client as `{code, message}` and are rebuilt there.
 */
export interface ProcessControl {
  info(): ProcessInfo;
  /** Writes an image; the process goes on. `file` is absolute when it comes from a client. */
  checkpoint(file?: string): Promise<ImageResult>;
  /** Writes an image and frees the memory; the process stays stopped until `continue`. */
  freeze(): Promise<ImageResult>;
  /** A frozen process resumes. */
  continue(): Promise<void>;
  /**
   * Moves the running process to node `to` (or "home"); it stays where it was on failure.
   * `expectedQueue`: an automatic move's view of `to` (refused there if more run now).
   */
  migrate(to: string, expectedQueue?: number): Promise<MigrateResult>;
  /**
   * Queues a message in the process's mailbox (ADR 0021); E_NO_PROCESS when it has none,
   * E_REFUSED with details.reason "full" when the mailbox is full. Absent: no mailboxes here.
   */
  deliver?(from: { home: string; pid: number }, payload: Buffer): DeliverResult;
}

/** A message queued in a mailbox. */
export interface DeliverResult {
  /** Bytes waiting in that mailbox now, this message's included. */
  queuedBytes: number;
}
