/**
 * A home daemon's part in mailbox messages between homes (ADR 0021 phase 1). A program's deputy
 * hands a message for another home to its own daemon (`deliver`); that daemon sends it over the
 * authenticated node link to the receiver's home daemon, which puts it in the receiver's mailbox
 * through the receiver's control socket.
 *
 * Who sends: Node gives no peer credentials on a Unix socket (ADR 0014), so a deputy proves its
 * user once, with a ticket's proof file as `osmo run -E` does (native-tickets.ts), and gets a
 * random mailbox key that stands for that uid from then on. The sending daemon vouches for the
 * sender's home (its own name) and uid; the receiving daemon accepts the message for a program
 * of the same uid only (the same uid is the same user on every node, as in MOSIX), or from root.
 */
import { randomBytes } from 'node:crypto';
import { OsmoError } from '../core/errors.js';
import { openSocket } from '../process-control/client.js';
import { ProcessControlClient } from '../process-control/index.js';
import { parseDeliverResult, parseMessage } from '../process-control/protocol.js';
import type { DeliverResult, ProcessInfo } from '../process-control/types.js';
import { ownerOf } from './cluster-processes.js';
import type { NativeTickets } from './native-tickets.js';

/** Keys remembered at most; the oldest are forgotten first (their deputies prove themselves again). */
const MAX_KEYS = 4096;
const CONNECT_TIMEOUT_MS = 2_000;

export interface MailboxRelayOptions {
  /** This node's name: the home of every message sent through it. */
  readonly node: string;
  readonly tickets: NativeTickets;
  /** This home's programs and their control sockets (the balancer's list). */
  readonly programs: () => readonly { info: ProcessInfo; socket: string }[];
  readonly askNode: (node: string, op: string, args: object) => Promise<unknown>;
}

export class MailboxRelay {
  private readonly keys = new Map<string, number>();

  constructor(private readonly o: MailboxRelayOptions) {}

  /** `mailboxKey {proof}`: a key for the user who made the proof file. */
  issueKey(args: Record<string, unknown>): { key: string } {
    const { uid } = this.o.tickets.redeem(args.proof);
    const key = randomBytes(16).toString('hex');
    this.keys.set(key, uid);
    while (this.keys.size > MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
    return { key };
  }

  /** `deliver` from a deputy of this home: on to the receiver's home. */
  async fromDeputy(args: Record<string, unknown>): Promise<DeliverResult> {
    const uid = typeof args.key === 'string' ? this.keys.get(args.key) : undefined;
    if (uid === undefined) {
      throw new OsmoError('E_AUTH', 'unknown mailbox key: prove the user again (mailboxKey)', {
        details: { reason: 'key' },
      });
    }
    const { home, pid } = args;
    if (typeof home !== 'string' || !isPid(pid)) {
      throw new OsmoError('E_USAGE', 'deliver: "home" must be a node name and "pid" a pid');
    }
    const message = parseMessage({ ...args, fromHome: this.o.node });
    if (typeof message === 'string') throw new OsmoError('E_USAGE', `deliver: ${message}`);
    const forward = { uid, pid, fromHome: this.o.node, fromPid: message.fromPid, data: args.data };
    if (home === this.o.node) return this.intoMailbox(forward);
    const answer = await this.o.askNode(home, 'deliver', forward);
    const result = parseDeliverResult(answer);
    if (result === undefined) {
      throw new OsmoError(
        'E_PROTO_DECODE',
        `node ${home} answered "deliver" with a malformed result`,
      );
    }
    return result;
  }

  /** `deliver` from another home's daemon (it vouches for the sender's home and uid). */
  fromPeer(args: Record<string, unknown>): Promise<DeliverResult> {
    return this.intoMailbox(args);
  }

  private async intoMailbox(args: Record<string, unknown>): Promise<DeliverResult> {
    const { uid, pid } = args;
    if (typeof uid !== 'number' || !Number.isSafeInteger(uid) || uid < 0 || !isPid(pid)) {
      throw new OsmoError('E_PROTO_DECODE', 'malformed deliver request');
    }
    const message = parseMessage(args);
    if (typeof message === 'string') throw new OsmoError('E_PROTO_DECODE', `deliver: ${message}`);
    const noSuch = new OsmoError(
      'E_NO_PROCESS',
      `no process ${pid} of that user at home ${this.o.node}`,
    );
    const program = this.o.programs().find((p) => p.info.pid === pid);
    if (program === undefined) throw noSuch;
    const owner = ownerOf(program.socket);
    if (owner === undefined) throw noSuch;
    if (uid !== 0 && owner !== uid) {
      throw new OsmoError('E_AUTH', `process ${pid} at ${this.o.node} is another user's`);
    }
    let socket;
    try {
      socket = await openSocket(program.socket, CONNECT_TIMEOUT_MS);
    } catch {
      throw noSuch; // it just ended
    }
    const client = new ProcessControlClient(socket, pid, program.socket);
    try {
      return await client.deliver(
        { home: message.fromHome, pid: message.fromPid },
        message.payload,
      );
    } finally {
      client.close();
    }
  }
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
