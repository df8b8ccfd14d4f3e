/**
 * The guest keeps what `fd_fdstat_get` said of its directory fds. wasi-libc asks it of the
 * directory before every `open` (for the rights to pass on); for a program away each ask is a
 * round trip home. A directory fd (never 0–2) is the deputy's own host fd, which no other process
 * shares, so its type, flags and rights change only by the program's own `fd_fdstat_set_flags`,
 * `fd_fdstat_set_rights`, `fd_close` or `fd_renumber` — which drop the entry here first.
 */
import { syscallId } from '../protocol/syscall-table.js';
import type { SyscallName } from '../protocol/syscall-table.js';
import type { Fdstat } from '../wasi/abi.js';
import { Filetype } from '../wasi/abi.js';

const CHANGE_NAMES: readonly SyscallName[] = [
  'fdFdstatSetFlags',
  'fdFdstatSetRights',
  'fdClose',
  'fdRenumber',
];
const CHANGES_FDSTAT = new Set(CHANGE_NAMES.map((name) => syscallId(name)));
const FD_RENUMBER = syscallId('fdRenumber');

export class FdstatCache {
  private readonly known = new Map<number, Fdstat>();

  get(fd: number): Fdstat | undefined {
    const s = this.known.get(fd);
    return s === undefined ? undefined : { ...s };
  }

  /** What the deputy answered for `fd`; kept if it is a directory. */
  answered(fd: number, stat: Fdstat): void {
    if (fd > 2 && stat.filetype === Filetype.DIRECTORY) this.known.set(fd, { ...stat });
  }

  /** Before request `op` with arguments `args` goes to the deputy. */
  before(op: number, args: readonly unknown[]): void {
    if (!CHANGES_FDSTAT.has(op)) return;
    if (typeof args[0] === 'number') this.known.delete(args[0]);
    if (op === FD_RENUMBER && typeof args[1] === 'number') this.known.delete(args[1]);
  }
}
