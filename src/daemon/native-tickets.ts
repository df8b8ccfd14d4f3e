/**
 * Who asks for a native program (`osmo run -E`, docs/native.md). The program runs as its user on
 * another node, so the user must be proved, and Node gives no peer credentials on a Unix socket
 * (ADR 0014). The proof is a file: the daemon hands out a fresh ticket (`ticket`), the client
 * creates a file named after it, and the file's owner is who created it — which nobody can
 * forge, and which nobody else can have made for a ticket this daemon handed out just now.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import { OsmoError } from '../core/errors.js';

/** A ticket not used within this long is forgotten. */
export const TICKET_LIFETIME_MS = 30_000;
/** At most this many unused tickets are kept (the oldest go first). */
const MAX_TICKETS = 1024;
/** The name of a proof file: this prefix and the ticket. */
export const PROOF_PREFIX = 'osmo-native-proof-';

export interface ProvedUser {
  readonly uid: number;
  readonly gid: number;
}

export class NativeTickets {
  private readonly issued = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** A new ticket: the client proves itself with a file named PROOF_PREFIX + ticket. */
  issue(): string {
    this.expire();
    const ticket = randomBytes(16).toString('hex');
    this.issued.set(ticket, this.now() + TICKET_LIFETIME_MS);
    while (this.issued.size > MAX_TICKETS) this.issued.delete(this.issued.keys().next().value!);
    return ticket;
  }

  /**
   * The user who made proof file `path` for a ticket issued here; the ticket is used up and the
   * file removed. Throws E_AUTH when the proof is not one.
   */
  redeem(path: unknown): ProvedUser {
    this.expire();
    const name = typeof path === 'string' ? basename(path) : '';
    const ticket = name.startsWith(PROOF_PREFIX) ? name.slice(PROOF_PREFIX.length) : '';
    if (typeof path !== 'string' || !isAbsolute(path) || !this.issued.delete(ticket)) {
      throw new OsmoError(
        'E_AUTH',
        'a native program needs a proof file for a ticket of this daemon (osmo run -E makes one)',
      );
    }
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

  private expire(): void {
    const now = this.now();
    for (const [ticket, until] of this.issued) if (until < now) this.issued.delete(ticket);
  }
}
