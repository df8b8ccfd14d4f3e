/** Messages between a guest worker and the thread that hosts it. */
import type { SerializedError } from '../core/errors.js';
import type { ClockOrigins } from './guest-clocks.js';

export interface GuestStart {
  module: WebAssembly.Module;
  channel: SharedArrayBuffer;
  args: string[];
  env: string[];
  clocks: ClockOrigins;
  /** Print every system call to stderr (fd 2 of this process). */
  strace: boolean;
}

/** How a guest ended. */
export type GuestOutcome =
  | { kind: 'exit'; code: number }
  /** Ended by a signal it raised itself (proc_raise). */
  | { kind: 'signal'; signal: string; posix: number }
  | { kind: 'trap'; message: string; functionName?: string; location?: string }
  | { kind: 'error'; error: SerializedError };
