/**
 * Who asks for a native program (`osmo run -E`, docs/native.md). The program runs as its user on
 * another node, so the user must be proved, and Node gives no peer credentials on a Unix socket
 * (ADR 0014). The proof is a file: the daemon hands out a fresh ticket (`ticket`), the client
 * creates a file named after it in the daemon's proof directory, and the file's owner is who
 * created it — which nobody can forge, and which nobody else can have made for a ticket this
 * daemon handed out just now.
 *
 * The proof directory sits beside the daemon's socket (a root daemon's /run/osmosis), not in
 * /tmp: a service unit's PrivateTmp would hide /tmp's files from the daemon. It is sticky and
 * writable by all but listable by nobody else (01733), like a mail spool.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OsmoError } from '../core/errors.js';

/** A ticket not used within this long is forgotten. */
export const TICKET_LIFETIME_MS = 30_000;
/** At most this many unused tickets are kept (the oldest go first). */
const MAX_TICKETS = 1024;
/** The name of a proof file: this prefix and the ticket. */
export const PROOF_PREFIX = 'osmo-native-proof-';
/** Anyone may create a file there; only its owner may remove it; only the daemon may list. */
const PROOF_DIR_MODE = 0o1733;

export interface ProvedUser {
  readonly uid: number;
  readonly gid: number;
}

export interface Ticket {
  readonly ticket: string;
  /** Where the proof file goes: `dir`/PROOF_PREFIX + ticket. */
  readonly dir: string;
}

export class NativeTickets {
  private readonly issued = new Map<string, number>();
  private made = false;

  constructor(
    private readonly dir: string,
    private readonly now: () => number,
  ) {}

  /** A new ticket: the client proves itself with a file named PROOF_PREFIX + ticket in `dir`. */
  issue(): Ticket {
    this.makeDir();
    this.expire();
    const ticket = randomBytes(16).toString('hex');
    this.issued.set(ticket, this.now() + TICKET_LIFETIME_MS);
    while (this.issued.size > MAX_TICKETS) this.issued.delete(this.issued.keys().next().value!);
    return { ticket, dir: this.dir };
  }

  /**
   * The user who made the proof file of `ticket`, issued here; the ticket is used up and the
   * file removed. Throws E_AUTH when there is no such proof.
   */
  redeem(ticket: unknown): ProvedUser {
    this.expire();
    if (typeof ticket !== 'string' || !/^[0-9a-f]{32}$/.test(ticket) || !this.issued.delete(ticket))
      throw new OsmoError(
        'E_AUTH',
        'a native program needs a ticket of this daemon and its proof file (osmo run -E makes both)',
      );
    const path = join(this.dir, PROOF_PREFIX + ticket);
    let st;
    try {
      // lstat: a link would name someone else's file as its own.
      st = lstatSync(path);
    } catch {
      throw new OsmoError('E_AUTH', `no proof file ${path}`);
    }
    try {
      unlinkSync(path);
    } catch {
      // the client removes it too
    }
    if (!st.isFile() || st.nlink !== 1)
      throw new OsmoError('E_AUTH', `${path} is not a plain file of its own: no proof`);
    return { uid: st.uid, gid: st.gid };
  }

  private makeDir(): void {
    if (this.made) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      chmodSync(this.dir, PROOF_DIR_MODE);
    } catch (error) {
      throw new OsmoError(
        'E_IO',
        `cannot make the proof directory ${this.dir} for native programs: ${(error as Error).message}`,
      );
    }
    this.made = true;
  }

  private expire(): void {
    const now = this.now();
    for (const [ticket, until] of this.issued) if (until < now) this.issued.delete(ticket);
  }
}
