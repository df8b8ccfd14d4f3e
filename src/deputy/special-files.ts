/**
 * Files the deputy serves itself instead of the host (the mailboxes of ADR 0021): a path_open
 * below their directory gets a stream of the deputy's own, never a host fd.
 */
import type { Result } from '../wasi/backend.js';
import type { FdStream } from './fd-table.js';

export interface SpecialOpened {
  readonly stream: FdStream;
  readonly filetype: number;
  /** Rights the fd may have (intersected with what the program asked for). */
  readonly rights: bigint;
  /** What an image records of it, for {@link SpecialFiles.reopen}. */
  readonly special: string;
}

export interface SpecialFiles {
  /**
   * The fd for `path` opened below the directory `dirHostPath`, or undefined when that is not a
   * special file (the host file system then serves it); a failure is the errno the program sees.
   */
  open(
    dirHostPath: string,
    path: string,
    access: { read: boolean; write: boolean },
  ): Result<SpecialOpened> | undefined;
  /** Makes again an fd an image recorded (osmo restart); undefined when it cannot. */
  reopen(special: string): SpecialOpened | undefined;
}
