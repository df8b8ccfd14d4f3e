/**
 * What a deputy and the guest runner holding its program say to each other over their link
 * (docs/migration.md). Frame types below 8 belong to the link itself (src/link/frames.ts).
 *
 * ```
 * deputy → runner   MSG {t:"offer"} · MODULE · IMAGE… · IMAGE_END        (a program arrives)
 * deputy → runner   MSG {t:"offer"} · MODULE · MSG {t:"start"}            (it starts here, fresh)
 * runner → deputy   MSG {t:"resumed"} | MSG {t:"failed"}
 * runner → deputy   SYSCALL … ; deputy → runner SYSCALL_ANSWER           (one at a time)
 * runner → deputy   SYSCALL_WRITE (pipelined write: no answer unless it fails)
 * runner → deputy   SYSCALL_POSTED (a posted seek for reads served from bytes read ahead)
 * deputy → runner   MSG {t:"checkpoint"} | {t:"suspend", withState} → runner stops the program,
 *                   runner → deputy MSG {t:"state?"}, deputy → runner MSG {t:"state"} (its fd
 *                   table once the calls before the question are served), then as below
 * deputy → runner   MSG {t:"suspend"} → runner: MSG {t:"image"} IMAGE… IMAGE_END, then waits
 *                   for MSG {t:"drop"} (it moved on: exit) or {t:"resume"} (it stays)
 * runner → deputy   MSG {t:"outcome"} when the program ends there
 * deputy → runner   MSG {t:"stop"} … MSG {t:"cont"} (the user stopped it at home: Ctrl-Z, fg)
 * ```
 */
import type { SerializedError } from '../core/errors.js';
import type { GuestOutcome } from '../runtime/guest-messages.js';

export const Frame = {
  /** A JSON control message ({@link RunnerMessage} / {@link DeputyMessage}). */
  MSG: 8,
  /** The (instrumented) module's bytes. */
  MODULE: 9,
  /** A piece of an image, in order. */
  IMAGE: 10,
  /** The image is complete. */
  IMAGE_END: 11,
  /** A system-call request, encoded by protocol/syscall-codec.ts; answered by SYSCALL_ANSWER. */
  SYSCALL: 12,
  SYSCALL_ANSWER: 13,
  /** An fd_write request the runner already answered (the fd is pipelined). */
  SYSCALL_WRITE: 14,
  /**
   * A request the runner answered already, performed in order and never answered: a seek the
   * guest posted to pay for reads served ahead, or the close of a file open only for reading.
   */
  SYSCALL_POSTED: 15,
} as const;

/** Image bytes per IMAGE frame read from a file: large enough for link speed, small enough to interleave. */
export const IMAGE_CHUNK_BYTES = 1 << 20;

/** Deputy → runner. */
export type DeputyMessage =
  | {
      t: 'offer';
      /** sha256 of the instrumented module, as the runner caches it. */
      moduleHash: string;
      /** sha256 of the program as the user gave it (the images' identity). */
      programHash: string;
      /** Whether a MODULE frame follows (the target said it lacks the module). */
      moduleFollows: boolean;
      args: string[];
      env: string[];
      strace: boolean;
      /** Guest fds whose writes the runner may answer at once and send on without waiting. */
      pipelinedFds: number[];
    }
  /** No image follows: start the program from its beginning (osmo run placed it here). */
  | { t: 'start' }
  /**
   * Stop at the next tick or call and send the image (migration away, or freeze). With
   * `withState` (a freeze) the runner asks for the deputy's state once the program has stopped
   * ('state?') and puts it into the image's deputy section, so it can be restarted too.
   */
  | { t: 'suspend'; withState?: boolean }
  /** Send an image and go on (checkpoint); its deputy section is asked for as for a freeze. */
  | { t: 'checkpoint' }
  /** The answer to 'state?': the deputy's state now, or why there is none. */
  | { t: 'state'; deputy?: unknown; error?: SerializedError }
  /** The image arrived and runs elsewhere: forget it and exit. */
  | { t: 'drop' }
  /** The move failed: continue from the image kept here. */
  | { t: 'resume' }
  /** The user stopped the program (Ctrl-Z at home): hold it, stopped, until 'cont'. */
  | { t: 'stop' }
  /** The user continued it (fg, bg, SIGCONT at home). */
  | { t: 'cont' }
  /** End the program now (a signal at home). */
  | { t: 'kill'; outcome: GuestOutcome }
  /** A pipelined write failed at home: fail the next write, sync or close of that fd with it. */
  | { t: 'write-failed'; fd: number; errno: number }
  /** The fd path_open is about to return is a regular file: pipeline its writes. */
  | { t: 'pipeline'; fd: number }
  /**
   * The fd path_open is about to return is a regular file open only for reading: its close
   * cannot fail, and the runner may answer it at once and send it on (SYSCALL_POSTED).
   */
  | { t: 'close-quietly'; fd: number }
  | { t: 'info?' };

/** Runner → deputy. */
export type RunnerMessage =
  /** It runs here now (resumed, or started); `receivedMs`: first → last byte of its image. */
  | { t: 'resumed'; receivedMs?: number }
  | { t: 'failed'; error: SerializedError }
  /** An image follows (IMAGE… IMAGE_END); its size when it comes from a file (a checkpoint). */
  | { t: 'image'; bytes?: number }
  | { t: 'outcome'; outcome: GuestOutcome }
  /** One --strace line: the deputy prints it on its stderr, as at home. */
  | { t: 'trace'; line: string }
  /** The guest waits in a call the deputy is serving and a suspension is wanted: give it up if you can. */
  | { t: 'cancel-waits' }
  /**
   * The program stopped for an image that carries the deputy's state: that state, once every
   * call sent before this has been served. Asked earlier, calls still on the link were missing.
   */
  | { t: 'state?' }
  /**
   * The runner's CPU time, the program's memory, and how long its calls waited on home so far:
   * from sending each to its answer, and for the link to drain (older runners do not send it).
   */
  | { t: 'info'; cpuTimeMs: number; memoryBytes: number; homeWaitMs?: number };

export function encodeMessage(m: DeputyMessage | RunnerMessage): Buffer {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

export function decodeMessage<T extends { t: string }>(payload: Buffer): T | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as T).t === 'string')
      return value as T;
  } catch {
    // not JSON: the caller reports a protocol error
  }
  return undefined;
}
