/**
 * poll_oneoff: wait until at least one subscription fires, then report every subscription that
 * is ready at that moment.
 *
 * Clock subscriptions arrive as relative delays in ns (the guest side owns the clocks). Regular
 * files, memory devices and directories are always ready (nbytes for FD_READ on a file = bytes
 * left after the offset); FD_WRITE is ready at once for every kind (the write itself waits in the
 * thread pool, never the event loop). FD_READ on a stream waits for its read-ahead (see
 * stream-io.ts). A bad fd is an event with error BADF, not a failure of the call.
 *
 * Every timer is cleared when the poll resolves, and cancelAll() (closeAll) settles pending
 * polls with CANCELED, so a finished poll never keeps the process alive.
 */
import * as fs from 'node:fs';
import { Errno, Eventrwflags, Eventtype, Rights } from '../wasi/abi.js';
import type { Event, Subscription } from '../wasi/abi.js';
import { err, ok } from '../wasi/backend.js';
import type { MaybePromise, Result } from '../wasi/backend.js';
import type { FdTable } from './fd-table.js';
import { errnoFromError } from './host-errno.js';

/** setTimeout's ceiling (2^31 - 1 ms); longer waits are re-armed in steps. */
const MAX_TIMER_MS = 0x7fffffff;

export class Poller {
  private readonly pending = new Set<() => void>();

  constructor(private readonly table: FdTable) {}

  poll(subs: readonly Subscription[]): MaybePromise<Result<Event[]>> {
    if (subs.length === 0) return err(Errno.INVAL);
    const start = process.hrtime.bigint();
    const deadlines = subs.map((s) => (s.type === Eventtype.CLOCK ? start + s.timeout : 0n));
    const fired = subs.map(() => false);

    const ready = (): Event[] => {
      const now = process.hrtime.bigint();
      const events: Event[] = [];
      subs.forEach((s, i) => {
        const ev = this.check(s, fired[i] === true || now >= deadlines[i]!);
        if (ev !== undefined) events.push(ev);
      });
      return events;
    };

    const first = ready();
    if (first.length > 0) return ok(first);

    return new Promise((resolve) => {
      const timers = new Set<NodeJS.Timeout>();
      let done = false;
      const finish = (r: Result<Event[]>): void => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        this.pending.delete(cancel);
        resolve(r);
      };
      const cancel = (): void => finish(err(Errno.CANCELED));
      const wake = (): void => {
        if (done) return;
        const events = ready();
        if (events.length > 0) finish(ok(events));
      };
      const arm = (i: number): void => {
        const leftNs = deadlines[i]! - process.hrtime.bigint();
        const ms = leftNs <= 0n ? 0 : Number((leftNs + 999_999n) / 1_000_000n);
        const t = setTimeout(
          () => {
            timers.delete(t);
            if (ms > MAX_TIMER_MS) return arm(i);
            fired[i] = true;
            wake();
          },
          Math.min(ms, MAX_TIMER_MS),
        );
        timers.add(t);
      };
      this.pending.add(cancel);

      subs.forEach((s, i) => {
        if (s.type === Eventtype.CLOCK) arm(i);
        else if (s.type === Eventtype.FD_READ) {
          const stream = this.table.get(s.fd)?.stream;
          if (stream !== undefined) stream.startReadAhead().then(wake, wake);
        }
      });
    });
  }

  /** Settles every pending poll with CANCELED (the backend is shutting down). */
  cancelAll(): void {
    for (const cancel of [...this.pending]) cancel();
  }

  /** The event for `s` if it is ready now. `clockDue`: the clock subscription has expired. */
  private check(s: Subscription, clockDue: boolean): Event | undefined {
    const ev = (error: number, nbytes = 0n, flags = 0): Event => ({
      userdata: s.userdata,
      error,
      type: s.type,
      nbytes,
      flags,
    });
    if (s.type === Eventtype.CLOCK) {
      if (s.clockId < 0 || s.clockId > 3) return ev(Errno.INVAL);
      return clockDue ? ev(0) : undefined;
    }
    const e = this.table.lookup(s.fd, Rights.POLL_FD_READWRITE);
    if (typeof e === 'number') return ev(e);
    if (s.type === Eventtype.FD_WRITE) return ev(0);
    switch (e.kind) {
      case 'file':
        try {
          const size = fs.fstatSync(e.hostFd, { bigint: true }).size;
          return ev(0, size > e.offset ? size - e.offset : 0n);
        } catch (x) {
          return ev(errnoFromError(x));
        }
      case 'stream': {
        const r = e.stream?.readReadiness();
        if (r === undefined) return undefined;
        if (r.error !== 0) return ev(r.error);
        return ev(0, BigInt(r.nbytes), r.hangup ? Eventrwflags.FD_READWRITE_HANGUP : 0);
      }
      default:
        return ev(0);
    }
  }
}
