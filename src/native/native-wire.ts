/**
 * What a deputy and the runner of a native program (`osmo run -E`) say to each other over their
 * link (docs/native.md). The link is a guest's link (per-migration token, heartbeats); only the
 * messages differ: a native program's system calls are the target's own, so only its stdio, its
 * signals and its end travel.
 *
 * ```
 * deputy → runner   MSG {t:"native", program, args, env, cwd, stdinWindow}
 * runner → deputy   MSG {t:"started", pid, stdinWindow} | MSG {t:"failed", error}
 * deputy → runner   STDIN bytes … STDIN_END          (the home's stdin, in order)
 * runner → deputy   MSG {t:"stdin-taken", bytes}     (with stdinWindow: what the program took)
 * runner → deputy   STDOUT bytes | STDERR bytes        (in order per stream)
 * deputy → runner   MSG {t:"signal", signal}           (sent to its whole process group)
 * runner → deputy   MSG {t:"usage", cpuTimeMs, memoryBytes}   (every second)
 * runner → deputy   MSG {t:"outcome", code | signal}   (after its last output)
 * ```
 */
import type { SerializedError } from '../core/errors.js';

export const NativeFrame = {
  /** A JSON control message ({@link NativeDeputyMessage} / {@link NativeRunnerMessage}). */
  MSG: 8,
  STDIN: 20,
  /** The home's stdin ended: the program reads end of file after the bytes before it. */
  STDIN_END: 21,
  STDOUT: 22,
  STDERR: 23,
} as const;

/** Deputy → runner. */
export type NativeDeputyMessage =
  | {
      t: 'native';
      /** As the user gave it: a path (absolute or relative to `cwd`) or a name found in PATH. */
      program: string;
      args: string[];
      /** KEY=VALUE, the user's environment (MOSIX batch jobs receive it). */
      env: string[];
      /** Absolute; it exists on the target (checked at admission). */
      cwd: string;
      /**
       * The deputy keeps at most this many bytes of stdin unacknowledged, given a runner that
       * says so in `started` and reports `stdin-taken`; such a runner never stops reading its
       * link for stdin (stdin-window.ts). Absent (an older deputy): the runner stops reading
       * while the program's stdin is full, as before.
       */
      stdinWindow?: number;
    }
  /** A signal the user sent to osmo run (by name): for the program's process group. */
  | { t: 'signal'; signal: NodeJS.Signals };

/** Runner → deputy. */
export type NativeRunnerMessage =
  /** `stdinWindow`: the runner reports `stdin-taken` (echoes the deputy's window). */
  | { t: 'started'; pid: number; stdinWindow?: number }
  /** Bytes of stdin the program took (or that were dropped, its stdin closed). */
  | { t: 'stdin-taken'; bytes: number }
  /** Every second while it runs: its CPU time and resident memory (osmo ps). */
  | { t: 'usage'; cpuTimeMs: number; memoryBytes: number }
  | { t: 'failed'; error: SerializedError }
  /** How it ended: its exit code, or the signal that ended it (by name). */
  | { t: 'outcome'; code?: number; signal?: NodeJS.Signals };

/** An environment as the wire carries it (KEY=VALUE entries) as spawn takes it. */
export function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
