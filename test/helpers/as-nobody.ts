/**
 * Acting as another user in tests: root runs commands as the user nobody (setpriv), in a home of
 * nobody's own inside a test's scratch directory.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Why commands cannot be run as nobody here, or undefined when they can. */
export function asNobodyUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to run commands as the user nobody)';
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'setpriv (util-linux) is not installed';
  }
  return undefined;
}

/** How to run a command as the user nobody. */
export const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];

/**
 * Makes `dir` enterable by others and gives nobody a home of its own in it (runtime, state and
 * cache directories); returns nobody's environment.
 */
export function nobodyIn(dir: string): NodeJS.ProcessEnv {
  chmodSync(dir, 0o755);
  const home = join(dir, 'nobody');
  mkdirSync(home, { mode: 0o700 });
  execFileSync('chown', ['nobody:nogroup', home]);
  return {
    PATH: process.env.PATH,
    OSMOSIS_DAEMON: 'none', // each test names the daemon it means, never one this host runs
    HOME: home,
    XDG_RUNTIME_DIR: home,
    XDG_STATE_HOME: home,
    XDG_CACHE_HOME: join(home, 'cache'),
  };
}
