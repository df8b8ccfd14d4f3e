/**
 * What bin/osmo.js and bin/mosrun.js load before anything else: on Node ≥ 22.1, V8's compiled
 * code of our bundle is kept on disk ($XDG_CACHE_HOME/osmosis/v8) and reused at the next start,
 * so each `osmo run` and each guest runner spends less CPU starting (measured in BENCHMARKS.md,
 * "Warm start"). Node 20 has no such cache: there this does nothing. A cache that cannot be
 * written (read-only home, a runner's user without one) only costs the saving, never the start.
 */
import nodeModule from 'node:module';
import { join } from 'node:path';
import { xdgCacheHome } from '../platform/xdg-cache.js';

type EnableCompileCache = (directory?: string) => unknown;

export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (nodeModule as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  // NODE_DISABLE_COMPILE_CACHE is Node's own switch; respect it here too.
  if (enable === undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return;
  try {
    enable(join(xdgCacheHome(env), 'osmosis', 'v8'));
  } catch {
    // Started without the cache; nothing else depends on it.
  }
}

enableCompileCache();
