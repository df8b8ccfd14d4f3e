/** One-line reports on stderr, never a stack trace for an expected error. */
import { isOsmoError } from '../core/errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

export function warn(message: string): void {
  // Messages carry file names and other nodes' words: no escape sequence reaches the terminal
  // through them (line breaks stay: a list of problems is meant to be one per line).
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  process.stderr.write(`osmo: ${message.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?')}\n`);
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
