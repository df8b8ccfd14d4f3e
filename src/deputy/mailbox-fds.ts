/**
 * The two kinds of mailbox fd (ADR 0021): the receiving end of this process's own mailbox, and a
 * sending end naming another process's. Both are streams the deputy serves itself; no host fd is
 * behind them.
 */
import { Errno } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import type { FdStream } from './fd-table.js';
import type { Mailbox } from './mailbox.js';
import { MAX_MESSAGE_BYTES } from './mailbox.js';
import type { ReadReadiness } from './stream-io.js';

/** Reads this process's mailbox. Closing the last such fd ends the mailbox (`onClose`). */
export class MailboxReadEnd implements FdStream {
  private closed = false;

  constructor(
    private readonly box: Mailbox,
    private readonly onClose: () => void,
  ) {}

  readonly ownsHostFd = true;

  read(dest: Uint8Array, nonblocking: boolean): Result<number> | Promise<Result<number>> {
    if (this.closed) return err(Errno.BADF);
    return this.box.read(dest, nonblocking);
  }

  write(): Result<number> {
    return err(Errno.BADF);
  }

  readReadiness(): ReadReadiness | undefined {
    return this.box.readiness();
  }

  startReadAhead(): Promise<void> {
    return this.box.whenReadable();
  }

  cancelWaits(): boolean {
    this.box.cancel();
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}

/**
 * What sending one message came to: queued; the mailbox is full (a blocking write waits and tries
 * again); or the errno the write fails with.
 */
export type SendOutcome = 'queued' | 'full' | number;

/** Retries of a blocking write to a full mailbox: first after this, doubling up to the max. */
const FULL_RETRY_FIRST_MS = 5;
const FULL_RETRY_MAX_MS = 200;

/**
 * Writes messages to another process's mailbox: each fd_write is one message, and it returns once
 * the receiver's mailbox has queued it.
 */
export class MailboxSendEnd implements FdStream {
  private closed = false;
  private inFlight = 0;
  /** Abandons the wait of a blocking write for room (the fd is closed). */
  private readonly waiting = new Set<() => void>();

  constructor(private readonly send: (payload: Buffer) => Promise<SendOutcome>) {}

  readonly ownsHostFd = true;

  read(): Result<number> {
    return err(Errno.BADF);
  }

  write(data: Uint8Array, nonblocking: boolean): Result<number> | Promise<Result<number>> {
    if (this.closed) return err(Errno.BADF);
    if (data.length > MAX_MESSAGE_BYTES) return err(Errno.MSGSIZE);
    // A copy: the message is sent after this call returns, the guest's buffer may change.
    const payload = Buffer.from(data);
    return this.attempt(payload, nonblocking, FULL_RETRY_FIRST_MS);
  }

  readReadiness(): ReadReadiness | undefined {
    return { nbytes: 0, hangup: false, error: 0 };
  }

  startReadAhead(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Nothing reads here. A write is never abandoned (a suspension waits for it, as for a write to
   * a full pipe), so only a message on its way holds the caller back.
   */
  cancelWaits(): boolean {
    return this.inFlight === 0;
  }

  close(): void {
    this.closed = true;
    for (const abandon of [...this.waiting]) abandon();
  }

  private async attempt(
    payload: Buffer,
    nonblocking: boolean,
    delayMs: number,
  ): Promise<Result<number>> {
    this.inFlight++;
    let outcome: SendOutcome;
    try {
      outcome = await this.send(payload);
    } finally {
      this.inFlight--;
    }
    if (outcome === 'queued') return ok(payload.length);
    if (outcome !== 'full') return err(outcome);
    if (nonblocking) return err(Errno.AGAIN);
    if (this.closed) return err(Errno.BADF);
    const waited = await new Promise<boolean>((resolve) => {
      const abandon = (): void => {
        clearTimeout(timer);
        this.waiting.delete(abandon);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.waiting.delete(abandon);
        resolve(true);
      }, delayMs);
      this.waiting.add(abandon);
    });
    if (!waited) return err(this.closed ? Errno.BADF : Errno.INTR);
    return this.attempt(payload, false, Math.min(delayMs * 2, FULL_RETRY_MAX_MS));
  }
}
