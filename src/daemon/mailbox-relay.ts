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
import { KeptClients } from '../process-control/kept-clients.js';
import { parseDeliverResult, parseMessage } from '../process-control/protocol.js';
import type { DeliverResult, ProcessInfo } from '../process-control/types.js';
import { ownerOf } from './cluster-processes.js';
import type { NativeTickets } from './native-tickets.js';
import type { PeerLinks } from './peer-service.js';

/** Keys remembered at most; the oldest are forgotten first (their deputies prove themselves again). */
const MAX_KEYS = 4096;
const CONNECT_TIMEOUT_MS = 2_000;
/** Receivers' connections kept at most (the oldest closed first). */
const MAX_RECEIVERS = 256;

export interface MailboxRelayOptions {
  /** This node's name: the home of every message sent through it. */
  readonly node: string;
  readonly tickets: NativeTickets;
  /** This home's programs and their control sockets (the balancer's list). */
  readonly programs: () => readonly { info: ProcessInfo; socket: string }[];
  /** Kept links to the other nodes' daemons, and where each is. */
  readonly links: Pick<PeerLinks, 'ask' | 'closeAll'>;
  readonly address: (node: string) => { host: string; port: number; name: string };
}

export class MailboxRelay {
  /** Messages through this daemon, for its metrics. */
  readonly counts = { out: { ok: 0, failed: 0 }, in: { ok: 0, failed: 0 } };
  private readonly keys = new Map<string, number>();
  /** Connections to receivers' control sockets, by socket (messages come in streams). */
  private readonly receivers = new KeptClients<string>(MAX_RECEIVERS);

  constructor(private readonly o: MailboxRelayOptions) {}

  /** `mailboxKey {proof}`: a key for the user who made the proof file. */
  issueKey(args: Record<string, unknown>): { key: string } {
    const { uid } = this.o.tickets.redeem(args.proof);
    const key = randomBytes(16).toString('hex');
    this.keys.set(key, uid);
    while (this.keys.size > MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
    return { key };
  }

  /**
   * `deliver` from a deputy of this home: on to the receiver's home. `raw`: the message's bytes,
   * when they came after the request's line rather than in base64 inside it.
   */
  fromDeputy(args: Record<string, unknown>, raw?: Buffer): Promise<DeliverResult> {
    return tallied(this.counts.out, this.sendOn(args, raw));
  }

  /** `deliver` from another home's daemon (it vouches for the sender's home and uid). */
  fromPeer(args: Record<string, unknown>, raw?: Buffer): Promise<DeliverResult> {
    return tallied(this.counts.in, this.intoMailbox(args, raw));
  }

  private async sendOn(args: Record<string, unknown>, raw?: Buffer): Promise<DeliverResult> {
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
    const message = parseMessage({ ...args, fromHome: this.o.node }, raw);
    if (typeof message === 'string') throw new OsmoError('E_USAGE', `deliver: ${message}`);
    const forward = { uid, pid, fromHome: this.o.node, fromPid: message.fromPid };
    if (home === this.o.node) return this.intoMailbox(forward, message.payload);
    const answer = await this.o.links.ask(this.o.address(home), 'deliver', forward, {
      payload: message.payload,
    });
    const result = parseDeliverResult(answer);
    if (result === undefined) {
      throw new OsmoError(
        'E_PROTO_DECODE',
        `node ${home} answered "deliver" with a malformed result`,
      );
    }
    return result;
  }

  private async intoMailbox(args: Record<string, unknown>, raw?: Buffer): Promise<DeliverResult> {
    const { uid, pid } = args;
    if (typeof uid !== 'number' || !Number.isSafeInteger(uid) || uid < 0 || !isPid(pid)) {
      throw new OsmoError('E_PROTO_DECODE', 'malformed deliver request');
    }
    const message = parseMessage(args, raw);
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
    const socket = program.socket;
    const client = await this.receivers
      .get(
        socket,
        async () =>
          new ProcessControlClient(await openSocket(socket, CONNECT_TIMEOUT_MS), pid, socket),
      )
      .catch(() => {
        throw noSuch; // it just ended
      });
    return client.deliver({ home: message.fromHome, pid: message.fromPid }, message.payload);
  }

  /** Ends the kept links and connections (the daemon stops). */
  close(): void {
    this.o.links.closeAll();
    this.receivers.closeAll();
  }
}

/** `outcome`, counted as ok or failed in `count`. */
function tallied<T>(count: { ok: number; failed: number }, outcome: Promise<T>): Promise<T> {
  return outcome.then(
    (value) => {
      count.ok++;
      return value;
    },
    (error: unknown) => {
      count.failed++;
      throw error;
    },
  );
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
