/** Messages between a guest worker and the thread that hosts it. */
import type { SerializedError } from '../core/errors.js';
import type { ClockOrigins } from './guest-clocks.js';

export interface GuestStart {
  module: WebAssembly.Module;
  /** sha256 of the program as given: the identity images are checked against. */
  moduleHash: string;
  /** Continue from this image file instead of starting at `_start` (needs an instrumented module). */
  restoreFrom?: string;
  /**
   * Continue from an image that arrives in ImageStreamMessages (a move); the clocks then continue
   * from the image's counters, read by the worker.
   */
  restoreStream?: boolean;
  channel: SharedArrayBuffer;
  args: string[];
  env: string[];
  clocks: ClockOrigins;
  /** Print every system call to stderr (fd 2 of this process). */
  strace: boolean;
  /** Send the strace lines to the host thread instead (a runner: they belong to the deputy's stderr). */
  straceToHost?: boolean;
  /** Checkpoint by itself at these tick counts (OSMOSIS_CHECKPOINT_TICKS, for reproducible tests). */
  checkpointAtTicks?: bigint[];
  /** Re-enter the program early in its life for V8's optimised code (tier-up.ts). */
  reentry?: boolean;
}

/** How a guest ended. */
export type GuestOutcome =
  | { kind: 'exit'; code: number }
  /** Ended by a signal it raised itself (proc_raise). */
  | { kind: 'signal'; signal: string; posix: number }
  | { kind: 'trap'; message: string; functionName?: string; location?: string }
  | { kind: 'error'; error: SerializedError };

/**
 * What the deputy decides once the guest has stopped at a suspension point; the worker holds the
 * stopped program (its memory intact) until a plan says resume or stop.
 */
export type ImagePlan =
  | {
      kind: 'write-image';
      file: string;
      /** The deputy's part of the image (fd table, args, env…), any JSON. */
      deputy: unknown;
      /**
       * After the image is written: go on (checkpoint), end this worker (freeze) or wait for the
       * next plan. If writing fails, 'resume' and 'stop' go on; 'hold' waits.
       */
      then: 'resume' | 'stop' | 'hold';
    }
  /** Send the image to the host thread in ImagePiece messages (acknowledged), then wait. */
  | { kind: 'stream-image'; deputy: unknown }
  | { kind: 'resume' }
  | { kind: 'stop' };

/** Image bytes between a worker and its host thread, in order; each is acknowledged. */
export type ImageStreamMessage =
  | { kind: 'image-piece'; data: Uint8Array }
  | { kind: 'image-end' }
  /** The bytes stopped coming (a cut link): the restore fails. */
  | { kind: 'image-abort'; why: string }
  /** The host thread is done with the piece (its `slot` may be filled again). */
  | { kind: 'image-ack'; slot?: number };

/** Messages from a guest worker besides its final GuestOutcome. */
export type GuestEvent =
  /** `self`: the guest stopped by itself (a tick from checkpointAtTicks), not at the deputy's request. */
  | { kind: 'suspended'; self: boolean }
  /** The image was loaded into the new instance; the program is about to go on. */
  | { kind: 'restored' }
  | { kind: 'image-written'; bytes: number; ms: number }
  | { kind: 'image-failed'; error: SerializedError }
  /**
   * The next bytes of an image being streamed out (ImagePlan stream-image): a view of shared
   * buffer `slot`, which the worker does not touch again until that slot is acknowledged.
   */
  | { kind: 'image-piece'; data: Uint8Array; slot?: number }
  /** An image streamed in could not be loaded: nothing ran; the worker ends. */
  | { kind: 'restore-failed'; error: SerializedError }
  /** The worker ended after a freeze; its image holds the program. */
  | { kind: 'stopped' }
  /** One strace line (GuestStart.straceToHost). */
  | { kind: 'trace'; line: string };

export type WorkerMessage = GuestOutcome | GuestEvent;
