/**
 * On-disk cache of instrumented modules: binaryen takes seconds per module (1–4 s for a small one
 * here, loading binaryen included), `osmo run` must start warm in ≤ 100 ms. Keyed by
 * sha256(module bytes) + instrumenter version + tick interval, under
 * $XDG_CACHE_HOME/osmosis/modules (default ~/.cache/osmosis/modules).
 *
 * Entry file: the instrumented wasm followed by a 40-byte trailer {magic "OSMC", u32 version,
 * sha256(instrumented bytes)}. A file whose trailer does not check out (torn write by a crashed
 * run, disk corruption) is rebuilt, never used. Writes go to a unique temp file and are renamed
 * into place, so a reader never sees a partial file. Concurrent runs missing the same entry make
 * it once: one instruments, the others wait for its entry (maker-lock.ts); should they still
 * both write, each writes a whole file and the last rename wins.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xdgCacheHome } from '../platform/xdg-cache.js';
import { DEFAULT_TICK_INTERVAL, INSTRUMENTER_VERSION, MARKER_REVISION } from './contract.js';
import { makerTurn } from './maker-lock.js';
import { instrumentOffThread } from './off-thread.js';

const MAGIC = 0x434d534f; // "OSMC" little endian
const TRAILER_BYTES = 8 + 32;

export interface CacheOptions {
  /** Cache directory; default from $XDG_CACHE_HOME. */
  dir?: string;
  tickInterval?: number;
}

export interface CachedModule {
  bytes: Uint8Array;
  /** 'hit', 'miss' (not there), or 'corrupt' (there but unusable; rebuilt). */
  status: 'hit' | 'miss' | 'corrupt';
  /** Time spent in binaryen (0 on a hit). */
  instrumentMs: number;
  /** On a hit: how long it waited for another run that was making the entry (maker-lock.ts). */
  waitedMs?: number;
  path: string;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(xdgCacheHome(env), 'osmosis', 'modules');
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function cacheKey(bytes: Uint8Array, tickInterval: number): string {
  return `${sha256(bytes).toString('hex')}-v${INSTRUMENTER_VERSION}-m${MARKER_REVISION}-t${tickInterval}`;
}

/** The instrumented module from the cache, or undefined if absent or corrupt (then 'corrupt'). */
function readEntry(path: string): Uint8Array | 'absent' | 'corrupt' {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return 'absent';
  }
  if (file.length < TRAILER_BYTES + 8) return 'corrupt';
  const body = file.subarray(0, file.length - TRAILER_BYTES);
  const trailer = file.subarray(file.length - TRAILER_BYTES);
  if (trailer.readUInt32LE(0) !== MAGIC || trailer.readUInt32LE(4) !== INSTRUMENTER_VERSION)
    return 'corrupt';
  if (!sha256(body).equals(trailer.subarray(8))) return 'corrupt';
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

function writeEntry(dir: string, path: string, bytes: Uint8Array): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.writeUInt32LE(MAGIC, 0);
  trailer.writeUInt32LE(INSTRUMENTER_VERSION, 4);
  sha256(bytes).copy(trailer, 8);
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([bytes, trailer]), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The instrumented form of `bytes`, from the cache or made now in a worker thread (loading
 * binaryen only then).
 * A cache that cannot be written (read-only home, disk full) costs speed, not correctness.
 */
export async function instrumentCached(
  bytes: Uint8Array,
  options: CacheOptions = {},
): Promise<CachedModule> {
  const tickInterval = options.tickInterval ?? DEFAULT_TICK_INTERVAL;
  const dir = options.dir ?? defaultCacheDir();
  const path = join(dir, `${cacheKey(bytes, tickInterval)}.wasm`);
  const found = readEntry(path);
  if (found instanceof Uint8Array) return { bytes: found, status: 'hit', instrumentMs: 0, path };
  // Another run making this entry right now: wait for it rather than make it again.
  let made: Uint8Array | undefined;
  const turn = await makerTurn(`${path}.lock`, () => {
    const entry = readEntry(path);
    made = entry instanceof Uint8Array ? entry : undefined;
    return made !== undefined;
  });
  if (turn.kind === 'ready' && made !== undefined)
    return { bytes: made, status: 'hit', instrumentMs: 0, waitedMs: turn.waitedMs, path };
  try {
    // Off this thread: the caller's event loop (osmo run's control socket) goes on meanwhile.
    const result = await instrumentOffThread({ bytes, tickInterval });
    try {
      writeEntry(dir, path, result.bytes);
    } catch {
      // Deliberately ignored: see above.
    }
    return {
      bytes: result.bytes,
      status: found === 'absent' ? 'miss' : 'corrupt',
      instrumentMs: result.ms,
      path,
    };
  } finally {
    if (turn.kind === 'make') turn.release();
  }
}
