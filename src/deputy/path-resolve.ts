/**
 * Guest path -> host path, without ever leaving the preopen the directory fd belongs to.
 *
 * Node has no openat2(RESOLVE_BENEATH), so the walk is done here, one component at a time with
 * lstat: '..' pops a component and may not pop above the preopen root, symlinks are read and
 * their (relative) target spliced into the walk, absolute guest paths and absolute link targets
 * are refused (NOTCAPABLE) -- except that under a preopen of the host's `/` an absolute link
 * target restarts the walk at that root (it cannot leave it), so /etc/localtime-style links work
 * in osmo run's default view. The result is a host path whose every directory component is a real directory (no
 * links left) below the root; the caller then does the real operation on it, with O_NOFOLLOW
 * where the call has one, so a final component swapped for a link afterwards is not followed.
 *
 * Known gap: a directory component swapped for a symlink between this walk and the operation
 * (a TOCTOU race by another host process) is not detected; only openat2 could close it.
 */
import * as fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { Errno } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import { errnoFromError } from './host-errno.js';

/** Linux's limit on symlink expansions in one lookup (ELOOP beyond it). */
export const MAX_SYMLINK_EXPANSIONS = 40;

/** Where a lookup starts: a directory fd's preopen root and its components below it. */
export interface DirRef {
  root: string;
  rel: readonly string[];
}

export interface Resolved {
  /** Host path of what the guest path names. */
  hostPath: string;
  /** Components below the root (hostPath = root + rel). */
  rel: string[];
  /**
   * The last component the walk ended on: a name, or '.'/'..' when the path names a directory
   * through itself or its child (such a path has no entry to create, remove or rename).
   */
  last: string;
  /** lstat of hostPath; undefined when nothing exists there (yet). */
  stat: BigIntStats | undefined;
  /** The guest path ended in '/', so it must name a directory. */
  trailingSlash: boolean;
}

/** The two host calls the walk needs; tests may substitute them. */
export interface ResolveFs {
  /** lstat, undefined for ENOENT; throws other errors. */
  lstat(path: string): BigIntStats | undefined;
  readlink(path: string): string;
}

export const nodeResolveFs: ResolveFs = {
  lstat: (p) => fs.lstatSync(p, { bigint: true, throwIfNoEntry: false }),
  readlink: (p) => fs.readlinkSync(p, 'utf8'),
};

/** True when `root` is the host's `/`, so absolute symlink targets stay inside it. */
export function isHostRoot(root: string): boolean {
  return root === '/';
}

export function hostPathOf(root: string, rel: readonly string[]): string {
  if (rel.length === 0) return root;
  return (root.endsWith('/') ? root : root + '/') + rel.join('/');
}

export function resolvePath(
  dir: DirRef,
  guestPath: string,
  followFinal: boolean,
  hostFs: ResolveFs = nodeResolveFs,
): Result<Resolved> {
  if (guestPath === '') return err(Errno.NOENT);
  if (guestPath.includes('\0')) return err(Errno.INVAL);
  // wasi-libc always passes paths relative to a preopen; an absolute one is an escape attempt.
  if (guestPath.startsWith('/')) return err(Errno.NOTCAPABLE);

  const trailingSlash = guestPath.endsWith('/');
  // Pending components, consumed from the end (reversed) so splicing a link target is cheap.
  const pending = guestPath
    .split('/')
    .filter((c) => c !== '')
    .reverse();
  const rel = [...dir.rel];
  let expansions = 0;
  let last = '.';
  let stat: BigIntStats | undefined;
  let statKnown = false;

  try {
    while (pending.length > 0) {
      const comp = pending.pop()!;
      const isLast = pending.length === 0;
      if (comp === '.') {
        last = '.';
        statKnown = false;
        continue;
      }
      if (comp === '..') {
        if (rel.length === 0) return err(Errno.NOTCAPABLE);
        rel.pop();
        last = '..';
        statKnown = false;
        continue;
      }
      const path = hostPathOf(dir.root, [...rel, comp]);
      const st = hostFs.lstat(path);
      if (st === undefined) {
        if (!isLast) return err(Errno.NOENT);
        rel.push(comp);
        last = comp;
        stat = undefined;
        statKnown = true;
        continue;
      }
      if (st.isSymbolicLink() && (!isLast || followFinal)) {
        if (++expansions > MAX_SYMLINK_EXPANSIONS) return err(Errno.LOOP);
        const target = hostFs.readlink(path);
        if (target === '') return err(Errno.NOENT);
        if (target.startsWith('/')) {
          // An absolute target means "from the host root": only reachable when the preopen is
          // the host root itself (osmo run's default view), where it restarts from the root.
          if (!isHostRoot(dir.root)) return err(Errno.NOTCAPABLE);
          rel.length = 0;
        }
        const parts = target.split('/').filter((c) => c !== '');
        // "link -> dir/" must still name a directory: keep the slash's meaning as a '.'.
        if (target.endsWith('/')) parts.push('.');
        for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
        continue;
      }
      if (!isLast && !st.isDirectory()) return err(Errno.NOTDIR);
      rel.push(comp);
      last = comp;
      stat = st;
      statKnown = true;
    }
    const hostPath = hostPathOf(dir.root, rel);
    if (!statKnown) {
      // Ended on '.' or '..': a directory we already walked through (or the start directory).
      stat = hostFs.lstat(hostPath);
      if (stat === undefined) return err(Errno.NOENT);
    }
    if ((trailingSlash || last === '.' || last === '..') && stat !== undefined) {
      if (!stat.isDirectory()) return err(Errno.NOTDIR);
    }
    return ok({ hostPath, rel, last, stat, trailingSlash });
  } catch (e) {
    return err(errnoFromError(e));
  }
}

/** True when the path ended on '.' or '..' rather than on an entry name. */
export function isDotLast(r: Resolved): boolean {
  return r.last === '.' || r.last === '..';
}
