/**
 * A process's mailbox (MOSIX's migratable sockets, ADR 0021 phase 1): the queue of messages other
 * processes sent it, kept by its deputy at home. The deputy never moves, so a message is never on
 * its way to a process that is moving, and the order of the queue is the order in which the
 * deputy accepted the messages.
 *
 * The program reads its mailbox as a byte stream of records, each a fixed header followed by the
 * payload (docs/mailboxes.md):
 *
 * ```
 * u32 LE  payload length
 * u32 LE  sender pid (the sender's deputy pid at its home)
 * 64 B    sender home node name, NUL-padded (at most 63 bytes)
 * ```
 *
 * A stream, not one message per read: a program may read with any buffer size, or through
 * stdio's `fread`, without losing the rest of a message. A read waits while the queue is empty, as
 * a read of stdin does, and a suspension (freeze, move) makes a waiting read give up with INTR
 * without consuming anything, as the stream readers do (event-reader.ts).
 */
import { Errno } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { Result } from '../wasi/backend.js';
import type { ReadReadiness } from './stream-io.js';

export const MAILBOX_HEADER_BYTES = 72;
/** The largest payload of one message: it crosses JSON control lines of at most 1 MiB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Bytes (headers included) a mailbox queues before refusing messages as full. */
export const DEFAULT_MAILBOX_BYTES = 16 * 1024 * 1024;
const HOME_FIELD_BYTES = 64;

export interface MessageSender {
  /** The sender's home node name (1–63 bytes). */
  readonly home: string;
  /** The sender's pid at its home. */
  readonly pid: number;
}

/** One record as the program reads it: header and payload. */
export function encodeRecord(from: MessageSender, payload: Uint8Array): Buffer {
  const record = Buffer.alloc(MAILBOX_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(from.pid >>> 0, 4);
  record.write(from.home, 8, HOME_FIELD_BYTES - 1, 'utf8');
  record.set(payload, MAILBOX_HEADER_BYTES);
  return record;
}

export type AcceptOutcome = 'queued' | 'full';

export class Mailbox {
  /** Records not yet read in full; the first may be partly read (`readOffset`). */
  private readonly records: Buffer[] = [];
  private readOffset = 0;
  private queued = 0;
  /** Bumped by cancel(): a read still waiting gives up without consuming anything. */
  private generation = 0;
  private readonly waits: (() => void)[] = [];
  private closed = false;

  constructor(readonly capacityBytes = DEFAULT_MAILBOX_BYTES) {}

  /** Bytes queued and not yet read. */
  get queuedBytes(): number {
    return this.queued;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queues a message unless it would overfill the mailbox. A message larger than the whole
   * capacity is still taken into an empty mailbox, so that no message can be refused for ever.
   */
  accept(from: MessageSender, payload: Uint8Array): AcceptOutcome {
    const record = encodeRecord(from, payload);
    if (this.queued > 0 && this.queued + record.length > this.capacityBytes) return 'full';
    this.records.push(record);
    this.queued += record.length;
    for (const release of this.waits.splice(0)) release();
    return 'queued';
  }

  /** Bytes available now; undefined when the program would have to wait. */
  tryRead(dest: Uint8Array): Result<number> | undefined {
    if (this.closed) return err(Errno.BADF);
    if (this.queued === 0) return undefined;
    let n = 0;
    while (n < dest.length && this.records.length > 0) {
      const head = this.records[0]!;
      const take = Math.min(dest.length - n, head.length - this.readOffset);
      dest.set(head.subarray(this.readOffset, this.readOffset + take), n);
      n += take;
      this.readOffset += take;
      if (this.readOffset === head.length) {
        this.records.shift();
        this.readOffset = 0;
      }
    }
    this.queued -= n;
    return ok(n);
  }

  read(dest: Uint8Array, nonblocking: boolean): Result<number> | Promise<Result<number>> {
    if (dest.length === 0) return ok(0);
    const now = this.tryRead(dest);
    if (now !== undefined) return now;
    if (nonblocking) return err(Errno.AGAIN);
    const generation = this.generation;
    return this.whenReadable().then(() =>
      generation === this.generation ? this.read(dest, false) : err(Errno.INTR),
    );
  }

  readiness(): ReadReadiness | undefined {
    if (this.closed) return { nbytes: 0, hangup: false, error: Errno.BADF };
    return this.queued > 0 ? { nbytes: this.queued, hangup: false, error: 0 } : undefined;
  }

  whenReadable(): Promise<void> {
    if (this.readiness() !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.waits.push(resolve));
  }

  /** Makes every read still waiting give up with INTR, consuming nothing (suspension). */
  cancel(): void {
    this.generation++;
    for (const release of this.waits.splice(0)) release();
  }

  /** The records not yet read, the first from where reading stopped (for an image). */
  pending(): Buffer[] {
    return this.records.map((r, i) => (i === 0 ? r.subarray(this.readOffset) : r));
  }

  /** Puts back what {@link pending} gave (a restart): read first, before anything new. */
  restore(records: readonly Buffer[]): void {
    this.records.unshift(...records);
    this.queued += records.reduce((sum, r) => sum + r.length, 0);
  }

  /** The mailbox is gone: waiting reads end with BADF, new messages find no mailbox. */
  close(): void {
    this.closed = true;
    this.records.length = 0;
    this.queued = 0;
    for (const release of this.waits.splice(0)) release();
  }
}
