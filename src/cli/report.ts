/** One-line reports on stderr, never a stack trace for an expected error. */
import { isOsmoError } from '../core/errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

export function warn(message: string): void {
  process.stderr.write(`osmo: ${message}\n`);
}

/** Reports an error and returns the exit status it deserves. */
export function fail(error: unknown): number {
  if (isOsmoError(error)) {
    warn(error.message);
    return exitCodeFor(error.code);
  }
  warn(
    `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return ExitCode.INTERNAL;
}
