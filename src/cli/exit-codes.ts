/**
 * Exit statuses of `osmo` (documented in `osmo run --help` and docs/cli.md). A program's own
 * exit status passes through unchanged; Osmosis uses the values a shell user already knows.
 */
import type { ErrorCode } from '../core/errors.js';

export const ExitCode = {
  /** Bad invocation or bad input: unknown option, missing file, not a WASI program… */
  USAGE: 2,
  /** No Osmosis process of this user with that PID on this node (osmo checkpoint/freeze/continue). */
  NO_PROCESS: 3,
  /**
   * The cluster could not serve: no daemon or node, a link failed, or the node running the
   * program died and it could not be recovered (EX_UNAVAILABLE).
   */
  UNAVAILABLE: 69,
  /** The disk refused an image or another I/O failed (EX_IOERR). */
  IO: 74,
  /** An error inside Osmosis itself (a bug: please report it). */
  INTERNAL: 70,
  /** The program trapped (like a native program killed by SIGABRT). */
  TRAP: 134,
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'E_USAGE':
    case 'E_NOT_FOUND':
    case 'E_BAD_WASM':
    case 'E_BAD_IMPORT':
    case 'E_NO_START':
    case 'E_MEMORY_LIMIT':
    case 'E_CONFIG':
    case 'E_SNAPSHOT_CORRUPT':
    case 'E_SNAPSHOT_VERSION':
    case 'E_SNAPSHOT_MODULE':
      return ExitCode.USAGE;
    case 'E_SNAPSHOT_WRITE':
    case 'E_IO':
      return ExitCode.IO;
    case 'E_NO_PROCESS':
      return ExitCode.NO_PROCESS;
    case 'E_NO_NODE':
    case 'E_LINK':
    case 'E_AUTH':
    case 'E_REFUSED':
    case 'E_PROCESS_LOST':
      return ExitCode.UNAVAILABLE;
    default:
      return ExitCode.INTERNAL;
  }
}

export const EXIT_CODES_HELP = `
Exit status:
  0-125    the program's own exit status
  2        bad invocation or input (unknown option, missing or invalid .wasm file,
           an import other than wasi_snapshot_preview1, no _start, over --max-memory,
           a corrupted, truncated, other-version or other-program image)
  69       the cluster could not serve: no daemon answered (-b/-r/--daemon), or the node
           running the program died after it had acted there (the program is lost;
           a node lost before that is recovered: the program goes on at home)
  70       internal error in Osmosis
  74       an I/O error, e.g. the disk refused an image
  128+N    the program was ended by signal N (raised by itself, or sent to osmo run):
           129 SIGHUP, 130 SIGINT, 131 SIGQUIT, 138 SIGUSR1, 140 SIGUSR2, 143 SIGTERM
  134      the program trapped (the trap is named on stderr)`;
