/**
 * How a deputy sends its program's mailbox messages (ADR 0021 phase 1): to a process of the same
 * home straight to that process's control socket (its user's private directory: only the same
 * user reaches it); to another home through this node's daemon, which asks the receiver's home
 * daemon over their authenticated link, and that daemon the receiver's control socket.
 *
 * Connections are kept per receiver and per daemon, so a stream of messages costs one round trip
 * each, not a connect each.
 */
import { isOsmoError } from '../core/errors.js';
import { ControlClient, requestOnce } from '../daemon/control-client.js';
import { withProof } from './daemon-proof.js';
import type { MessageSender } from '../deputy/mailbox.js';
import type { SendOutcome } from '../deputy/mailbox-fds.js';
import { connectProcess } from '../process-control/index.js';
import { KeptClients } from '../process-control/kept-clients.js';
import { Errno } from '../wasi/abi.js';
import type { Deliver, MailboxAddress } from './mailbox-files.js';

/** Connections to receivers of this home kept at most (the oldest closed first). */
const MAX_KEPT_RECEIVERS = 64;

/** A message between homes crosses two daemons and a node link: this long at most. */
const DELIVER_TIMEOUT_MS = 15_000;

export interface DeliveryOptions {
  /** This process, as receivers see it. */
  readonly from: MessageSender;
  /** This node's daemon's control socket, for other homes; none: other homes are unreachable. */
  readonly daemonSocket: string | undefined;
}

export function mailboxDelivery(o: DeliveryOptions): Deliver {
  // Connections to receivers of this home, by pid.
  const receivers = new KeptClients<number>(MAX_KEPT_RECEIVERS);

  const sameHome = async (pid: number, payload: Buffer): Promise<SendOutcome> => {
    try {
      const client = await receivers.get(pid, () => connectProcess(pid));
      await client.deliver(o.from, payload);
      return 'queued';
    } catch (e) {
      const outcome = outcomeOf(e);
      if (outcome === Errno.SRCH || outcome === Errno.IO) receivers.drop(pid);
      return outcome;
    }
  };

  // The mailbox key that proves this user to the daemon here (mailbox-relay.ts), got once.
  let key: Promise<string> | undefined;
  const keyOf = (socket: string): Promise<string> => {
    key ??= withProof(socket, async (proof) => {
      const answer = await requestOnce(socket, 'mailboxKey', { proof });
      return answer.key;
    });
    key.catch(() => (key = undefined));
    return key;
  };

  // One connection to the daemon here, kept (messages come in streams).
  let daemon: Promise<ControlClient> | undefined;
  const daemonOf = async (socket: string): Promise<ControlClient> => {
    const kept = await daemon?.catch(() => undefined);
    if (kept?.open === true) return kept;
    daemon = ControlClient.connect(socket).then((c) => {
      c.unref();
      return c;
    });
    return daemon;
  };

  const otherHome = async (
    home: string,
    pid: number,
    payload: Buffer,
    firstTry = true,
  ): Promise<SendOutcome> => {
    const socket = o.daemonSocket;
    if (socket === undefined) return Errno.HOSTUNREACH;
    try {
      const args = { key: await keyOf(socket), home, pid, fromPid: o.from.pid };
      await (await daemonOf(socket)).request('deliver', DELIVER_TIMEOUT_MS, args, { payload });
      return 'queued';
    } catch (e) {
      // A restarted daemon knows no keys: prove the user again, once.
      if (firstTry && isOsmoError(e) && e.details?.reason === 'key') {
        key = undefined;
        return otherHome(home, pid, payload, false);
      }
      return outcomeOf(e);
    }
  };

  return (to: MailboxAddress, payload: Buffer): Promise<SendOutcome> =>
    to.home === undefined || to.home === o.from.home
      ? sameHome(to.pid, payload)
      : otherHome(to.home, to.pid, payload);
}

/** What a failed delivery means to the sender's write. */
export function outcomeOf(e: unknown): SendOutcome {
  if (!isOsmoError(e)) return Errno.IO;
  switch (e.code) {
    case 'E_NO_PROCESS':
      return Errno.SRCH;
    case 'E_AUTH':
      return Errno.ACCES;
    case 'E_REFUSED':
      return e.details?.reason === 'full' ? 'full' : Errno.ACCES;
    case 'E_NO_NODE':
    case 'E_LINK':
      return Errno.HOSTUNREACH;
    default:
      return Errno.IO;
  }
}
