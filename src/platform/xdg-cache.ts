/**
 * The user's cache directory by the XDG base-directory rules: $XDG_CACHE_HOME when it is an
 * absolute path, else ~/.cache. Kept apart so the start-up code can find it without loading
 * anything else.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function xdgCacheHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/')
    ? env.XDG_CACHE_HOME
    : join(homedir(), '.cache');
}
