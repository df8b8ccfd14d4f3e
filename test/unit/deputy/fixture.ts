/** Shared set-up for the deputy tests: a temp tree with one preopen and stdio on /dev/null. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostBackend } from '../../../src/deputy/host-backend.js';
import { Oflags, Rights, RIGHTS_FILE } from '../../../src/wasi/abi.js';
import type { Result, SyscallBackend } from '../../../src/wasi/backend.js';

export interface Fixture {
  /** The temp dir holding root/ (preopened as fd 3) and outside/ (must stay unreachable). */
  base: string;
  root: string;
  outside: string;
  /** Typed as the interface, the way the dispatch sees it (every answer may be a Promise). */
  b: SyscallBackend & Pick<HostBackend, 'closeAll' | 'describeFds'>;
  nullFd: number;
  cleanup(): void;
}

export const PRE = 3;

export function makeFixture(stdio?: [number, number, number]): Fixture {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'osmo-deputy-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'secret');
  const nullFd = fs.openSync('/dev/null', 'r+');
  const b = new HostBackend({
    preopens: [{ guestPath: '/sandbox', hostPath: root }],
    stdio: stdio ?? [nullFd, nullFd, nullFd],
  });
  return {
    base,
    root,
    outside,
    b,
    nullFd,
    cleanup() {
      b.closeAll();
      fs.closeSync(nullFd);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

export function must<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`expected success, got errno ${r.errno}`);
  return r.value;
}

export function errnoOf<T>(r: Result<T>): number {
  return r.ok ? 0 : r.errno;
}

export const RW = RIGHTS_FILE;
export const RO =
  RIGHTS_FILE & ~(Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE);

/** path_open below the preopen, following symlinks. */
export async function open(
  f: Fixture,
  p: string,
  oflags = 0,
  rights: bigint = RW,
  fdflags = 0,
  dirFd = PRE,
): Promise<Result<number>> {
  return f.b.pathOpen(dirFd, 1, p, oflags, rights, rights, fdflags);
}

export async function create(f: Fixture, p: string, content = ''): Promise<number> {
  const fd = must(await open(f, p, Oflags.CREAT | Oflags.TRUNC));
  if (content !== '') must(await f.b.fdWrite(fd, Buffer.from(content)));
  return fd;
}

export const text = (u: Uint8Array): string => Buffer.from(u).toString('utf8');
