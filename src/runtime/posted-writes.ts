/**
 * Posted writes: a guest away from home writes to a pipelined fd (a regular file at home,
 * stdout/stderr) without waiting for the answer. The runner answers such writes at once anyway
 * (migration/guest-runner.ts: it sends them home and reports a late failure on a later call, like
 * NFS); what the guest still waited for was the cross-thread round trip itself (~60–140 µs here),
 * per write. Now the guest hands the request over and goes on; the next request, or any message
 * to the host thread, first waits until that one was taken (ChannelClient.post / settle), so
 * nothing overtakes it and the request region is never overwritten early.
 *
 * The deputy side (the runner) says per fd whether the guest may post (control words after the
 * direct-write grants); a posted request carries POSTED_OP_BIT in its op so that the handler
 * knows nobody reads its answer: it must be performed even while a suspension is wanted, and a
 * late failure it would have reported stays for the next call on that fd.
 */
import { Ctl, POSTED_WRITE_SLOTS } from './channel.js';

/** Set in a request's op (u16) when the guest does not wait for the answer. */
export const POSTED_OP_BIT = 0x8000;

/** What the guest may post for an fd: bits of its control word. */
export const Posting = {
  /** Its writes (a pipelined fd). */
  WRITES: 1,
  /** Its close (a file open only for reading, whose close cannot fail: runner-wire.ts). */
  CLOSE: 2,
} as const;

/** Deputy side: what the guest may post per fd. */
export class PostedWriteFlags {
  constructor(private readonly control: Int32Array) {}

  allow(fd: number, what: number = Posting.WRITES): void {
    if (fd >= 0 && fd < POSTED_WRITE_SLOTS) Atomics.or(this.control, Ctl.POSTED_WRITES + fd, what);
  }

  forbid(fd: number, what: number = Posting.WRITES): void {
    if (fd >= 0 && fd < POSTED_WRITE_SLOTS)
      Atomics.and(this.control, Ctl.POSTED_WRITES + fd, ~what);
  }
}

/** Guest side: whether `what` (a write by default) on `fd` may be posted now. */
export function mayPost(control: Int32Array, fd: number, what: number = Posting.WRITES): boolean {
  return (
    fd >= 0 &&
    fd < POSTED_WRITE_SLOTS &&
    (Atomics.load(control, Ctl.POSTED_WRITES + fd) & what) !== 0
  );
}
