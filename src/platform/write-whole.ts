import { renameSync, writeFileSync } from 'node:fs';

/**
 * Writes a small owner-only state file so that a crash leaves the old content or the new, never
 * a part: FILE.tmp first, then renamed over FILE. One writer per file (the daemon of a state
 * directory); a leftover FILE.tmp is simply overwritten next time.
 */
export function writeFileWhole(file: string, data: string): void {
  writeFileSync(`${file}.tmp`, data, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
