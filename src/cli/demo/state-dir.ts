/**
 * The demo's private directory under the temporary directory, marked with the pid of the demo
 * that owns it. A demo killed outright (SIGKILL, or the machine's OOM killer) cannot remove its
 * directory; the next demo does, once that pid no longer runs. A directory without the mark — one
 * kept on purpose (`--keep`), or not the demo's at all — is never touched.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidExists } from '../../platform/pid.js';

const PREFIX = 'osmo-demo-';
const OWNER_FILE = 'demo.pid';

/** Makes the directory, marked as this process's. */
export function makeStateDir(parent: string): string {
  const dir = mkdtempSync(join(parent, PREFIX));
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
  return dir;
}

/** Unmarks a directory kept for the user (`--keep`): no later demo may remove it. */
export function keepStateDir(dir: string): void {
  rmSync(join(dir, OWNER_FILE), { force: true });
}

/**
 * Removes the directories of earlier demos of this user whose owner no longer runs. Best effort:
 * returns the directories removed.
 */
export function removeAbandonedStateDirs(parent: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(PREFIX));
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const dir = join(parent, name);
    try {
      if (uid !== undefined && statSync(dir).uid !== uid) continue;
      const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
      if (!Number.isSafeInteger(owner) || owner <= 0) continue;
      if (owner === process.pid || pidExists(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // not a demo's, not ours, or already gone
    }
  }
  return removed;
}
