/**
 * Image files on local disk. Writing is atomic: the image goes to FILE.tmp-<pid>-<rand>, is
 * fsync'd, then renamed over FILE and the directory fsync'd, so FILE is always either the old image
 * or the complete new one. On any failure (ENOSPC above all) the temporary file is removed and
 * E_SNAPSHOT_WRITE is thrown; nothing here touches the process being saved, so it keeps running.
 */
import {
  closeSync,
  copyFileSync,
  fstatSync,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { OsmoError, isOsmoError } from '../core/errors.js';
import { fdSink, fdSource } from './io.js';
import { readImage } from './reader.js';
import type { ReadImageOptions, SnapshotReader } from './reader.js';
import type { SnapshotImage } from './types.js';
import { writeImage } from './writer.js';
import type { WriteImageOptions, WriteImageResult } from './writer.js';

export interface WriteImageFileOptions extends WriteImageOptions {
  /** File mode of the new image; images hold the program's memory, so owner-only by default. */
  mode?: number;
}

function writeError(path: string, cause: unknown): OsmoError {
  const errno = (cause as { code?: unknown }).code;
  const inner = isOsmoError(cause) && cause.cause !== undefined ? cause.cause : cause;
  const innerCode = (inner as { code?: unknown }).code;
  const code =
    typeof innerCode === 'string' ? innerCode : typeof errno === 'string' ? errno : undefined;
  const hint = code === 'ENOSPC' ? ' (disk full: free space or choose another file)' : '';
  return new OsmoError(
    'E_SNAPSHOT_WRITE',
    `cannot write snapshot image ${path}: ${(inner as Error).message ?? String(inner)}${hint}; the process was not changed`,
    { cause: inner, details: { path, errno: code } },
  );
}

export function writeImageFile(
  path: string,
  image: SnapshotImage,
  options: WriteImageFileOptions = {},
): Promise<WriteImageResult> {
  return replaceWhole(path, async (tmp) => {
    const fd = openSync(tmp, 'wx', options.mode ?? 0o600);
    let closed = false;
    try {
      const result = await writeImage(fdSink(fd), image, options);
      fsyncSync(fd);
      closeSync(fd);
      closed = true;
      return result;
    } finally {
      if (!closed) {
        try {
          closeSync(fd);
        } catch {
          // The write already failed; the close error adds nothing.
        }
      }
    }
  });
}

/**
 * Copies a whole image file to `path` with the same guarantee as {@link writeImageFile} (FILE
 * is the old content or the complete copy); resolves with its size. For a checkpoint of a frozen
 * program, whose image is already on disk.
 */
export async function copyImageFile(from: string, path: string): Promise<number> {
  if (from === path) return statSync(from).size;
  return replaceWhole(path, (tmp) => {
    copyFileSync(from, tmp);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * Has `fill` write the whole new content into FILE.tmp-<pid>-<rand>, then renames it over `path`
 * and makes the rename durable. On any failure the temporary file is removed and
 * E_SNAPSHOT_WRITE is thrown.
 */
async function replaceWhole<R>(path: string, fill: (tmp: string) => R | Promise<R>): Promise<R> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const result = await fill(tmp);
    renameSync(tmp, path);
    syncDirectory(dirname(path));
    return result;
  } catch (cause) {
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed: nothing to clean.
    }
    if (isOsmoError(cause) && cause.code === 'E_SNAPSHOT_WRITE' && cause.cause === undefined)
      throw cause;
    throw writeError(path, cause);
  }
}

/** Makes the rename durable; some file systems refuse fsync on a directory, which is harmless. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Best effort: the image itself is already on disk.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface OpenedImage extends SnapshotReader {
  close(): void;
}

/** Opens and fully validates an image file; close() it after restoring the memory. */
export function openImageFile(path: string, options: ReadImageOptions = {}): OpenedImage {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new OsmoError(
      code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO',
      `cannot open snapshot image ${path}: ${(cause as Error).message}`,
      { cause, details: { path } },
    );
  }
  try {
    const reader = readImage(fdSource(fd), options);
    return {
      meta: reader.meta,
      chunks: () => reader.chunks(),
      copyMemoryInto: (target, o) => reader.copyMemoryInto(target, o),
      close: () => closeSync(fd),
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
