/**
 * Abandoning a guest's waiting read or poll so that it can suspend at once (a move, a freeze, a
 * checkpoint): the same rule whether the deputy serves the guest here (LocalGuest) or on another
 * node (RemotePlacement).
 */
import { SYSCALL_IDS } from '../protocol/syscall-table.js';

/** The calls the deputy may abandon while it waits on them (they consume nothing until done). */
export const INTERRUPTIBLE_OPS: ReadonlySet<number | undefined> = new Set(
  ['fdRead', 'pollOneoff', 'sockRecv'].map((n) => SYSCALL_IDS.get(n)),
);

/**
 * How soon a refused cancellation is tried again. The backend refuses while a thread-pool
 * operation of the deputy is in flight (HostBackend.cancelWaits), which takes well under this.
 */
export const CANCEL_RETRY_MS = 5;

/**
 * Abandons the waiting call `op` with `abandon` once `cancelWaits` (the backend) allows it;
 * while refused, tries again every CANCEL_RETRY_MS for as long as `stillWaiting` — else a
 * program blocked reading its terminal would stop only when input came.
 */
export function cancelWaitWhenPossible(
  op: number,
  cancelWaits: () => boolean,
  stillWaiting: () => boolean,
  abandon: () => void,
): void {
  if (!INTERRUPTIBLE_OPS.has(op)) return;
  if (cancelWaits()) {
    abandon();
    return;
  }
  setTimeout(() => {
    if (stillWaiting()) cancelWaitWhenPossible(op, cancelWaits, stillWaiting, abandon);
  }, CANCEL_RETRY_MS).unref();
}
