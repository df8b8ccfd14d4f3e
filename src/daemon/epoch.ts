/**
 * The replay counter's epoch must grow across restarts, or peers would take a restarted node's
 * fresh datagrams for replays. It is max(last epoch + 1, Unix seconds), kept in the state dir, so
 * it grows even if the wall clock is stepped back.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsmoError } from '../core/errors.js';
import { writeFileWhole } from '../platform/write-whole.js';

export function nextEpoch(previous: number | undefined, unixSeconds: number): number {
  const candidate = Math.max((previous ?? 0) + 1, Math.floor(unixSeconds));
  return candidate >>> 0;
}

export function advanceEpoch(stateDir: string, unixSeconds: number): number {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = join(stateDir, 'epoch');
    let previous: number | undefined;
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(n) && n >= 0) previous = n;
    } catch {
      // first start
    }
    const epoch = nextEpoch(previous, unixSeconds);
    writeFileWhole(file, `${epoch}\n`);
    return epoch;
  } catch (e) {
    throw new OsmoError(
      'E_CONFIG',
      `stateDir ${stateDir}: cannot keep state there (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
}
