/**
 * /proc/mailbox, the program's view of mailboxes (MOSIX's migratable sockets, ADR 0021 phase 1):
 *
 * - `/proc/mailbox/self`, opened for reading, is this process's own mailbox: it exists from the
 *   first open until the last such fd is closed, and messages sent to a process without one are
 *   refused (the sender's write fails with ESRCH).
 * - `/proc/mailbox/NODE/PID`, opened for writing, names process PID of home node NODE (as
 *   `osmo ps` shows them); `/proc/mailbox/PID` one of this home. Each write is one message.
 *
 * A private directory holding an empty `self` is preopened there, so that the program can list
 * and stat it; opens below it are served by the deputy (SpecialFiles), never by that directory.
 * Every program has it, preemptible or not, at home or away: the deputy serves it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsmoError } from '../core/errors.js';
import { NAME_RE } from '../core/labels.js';
import { Mailbox } from '../deputy/mailbox.js';
import type { MessageSender } from '../deputy/mailbox.js';
import { MailboxReadEnd, MailboxSendEnd } from '../deputy/mailbox-fds.js';
import type { SendOutcome } from '../deputy/mailbox-fds.js';
import type { SpecialFiles, SpecialOpened } from '../deputy/special-files.js';
import type { DeliverResult } from '../process-control/types.js';
import { Errno, Filetype, Rights } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import type { Preopen } from './run.js';

export const MAILBOX_DIR = '/proc/mailbox';
const SELF = 'self';
const RECEIVE_RIGHTS =
  Rights.FD_READ | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET;
const SEND_RIGHTS =
  Rights.FD_WRITE | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET;

/** Where a message goes: process `pid` of home `home` (undefined: this home). */
export interface MailboxAddress {
  readonly home: string | undefined;
  readonly pid: number;
}

/** Sends one message; what came of it (see SendOutcome). */
export type Deliver = (to: MailboxAddress, payload: Buffer) => Promise<SendOutcome>;

export class MailboxFiles implements SpecialFiles {
  readonly dir: string;
  private box: Mailbox | undefined;
  private readers = 0;
  /** Records an image carried, put back when the restarted program opens its mailbox again. */
  private carried: Buffer[] = [];
  /** How messages leave (set once the session knows its home). */
  deliver: Deliver | undefined;

  constructor(parent: string) {
    this.dir = mkdtempSync(join(parent, 'mailbox-'));
    writeFileSync(join(this.dir, SELF), '', { mode: 0o400 });
  }

  /** The preopen, after every other (fd numbers of a run without mailboxes stay the same). */
  placeIn(preopens: Preopen[]): Preopen[] {
    return [...preopens, { guestPath: MAILBOX_DIR, hostPath: this.dir }];
  }

  open(
    dirHostPath: string,
    path: string,
    access: { read: boolean; write: boolean },
  ): Result<SpecialOpened> | undefined {
    if (dirHostPath !== this.dir) return undefined;
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.length === 0) return undefined; // the directory itself
    if (parts.includes('..')) return err(Errno.NOTCAPABLE);
    if (parts.length === 1 && parts[0] === SELF) {
      if (access.write) return err(Errno.ACCES);
      return ok(this.openSelf());
    }
    const to = addressOf(parts);
    if (to === undefined) return err(Errno.NOENT);
    if (access.read) return err(Errno.ACCES);
    return ok(this.openSend(to));
  }

  reopen(special: string): SpecialOpened | undefined {
    if (special === SELF) return this.openSelf();
    const to = addressOf(special.split('/'));
    return to === undefined ? undefined : this.openSend(to);
  }

  /** A message from another process (the control op `deliver`). */
  accept(from: MessageSender, payload: Buffer): DeliverResult {
    const box = this.box;
    if (box === undefined) {
      throw new OsmoError('E_NO_PROCESS', `process ${process.pid} has no mailbox open`);
    }
    if (box.accept(from, payload) === 'full') {
      throw new OsmoError(
        'E_REFUSED',
        `the mailbox of process ${process.pid} is full (${box.queuedBytes} bytes waiting)`,
        { details: { reason: 'full' } },
      );
    }
    return { queuedBytes: box.queuedBytes };
  }

  /** The records waiting in the mailbox, for an image (none when it has no mailbox). */
  pending(): Buffer[] {
    return this.box?.pending() ?? [];
  }

  /** A restart: these records come first once the program has its mailbox again. */
  carry(records: Buffer[]): void {
    this.carried = records;
    if (this.box !== undefined) this.box.restore(this.carried.splice(0));
  }

  remove(): void {
    this.box?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private openSelf(): SpecialOpened {
    if (this.box === undefined) {
      this.box = new Mailbox();
      if (this.carried.length > 0) this.box.restore(this.carried.splice(0));
    }
    const box = this.box;
    this.readers++;
    const stream = new MailboxReadEnd(box, () => {
      if (--this.readers > 0) return;
      box.close();
      if (this.box === box) this.box = undefined;
    });
    return { stream, filetype: Filetype.CHARACTER_DEVICE, rights: RECEIVE_RIGHTS, special: SELF };
  }

  private openSend(to: MailboxAddress): SpecialOpened {
    const stream = new MailboxSendEnd((payload) => {
      const deliver = this.deliver;
      return deliver === undefined ? Promise.resolve(Errno.NOSYS) : deliver(to, payload);
    });
    return {
      stream,
      filetype: Filetype.CHARACTER_DEVICE,
      rights: SEND_RIGHTS,
      special: to.home === undefined ? `${to.pid}` : `${to.home}/${to.pid}`,
    };
  }
}

/** `PID` or `NODE/PID`; undefined when the path names no process. */
function addressOf(parts: readonly string[]): MailboxAddress | undefined {
  const pidText = parts[parts.length - 1];
  if (pidText === undefined || !/^[1-9][0-9]{0,9}$/.test(pidText)) return undefined;
  const pid = Number(pidText);
  if (pid > 0xffffffff) return undefined;
  if (parts.length === 1) return { home: undefined, pid };
  if (parts.length === 2 && NAME_RE.test(parts[0]!)) return { home: parts[0], pid };
  return undefined;
}
