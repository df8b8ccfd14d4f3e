/**
 * What the home's balancer reads of one program through `info` (and `osmo ps` shows): the system
 * calls its deputy served and the bytes they carried — the I/O that would cross the network if it
 * ran elsewhere — and the CPU time it used on other nodes, which this process cannot see in its
 * own CPU clock.
 */
import type { RemotePlacement } from '../migration/remote-placement.js';
import type { RequestHandler } from '../runtime/channel.js';

export class SyscallCounters {
  syscalls = 0;
  ioBytes = 0;

  /** The same handler, counting each request and the bytes of request and answer. */
  wrap(handler: RequestHandler): RequestHandler {
    return (request, requestLength, response, isCurrent) => {
      this.syscalls++;
      this.ioBytes += requestLength;
      const answered = handler(request, requestLength, response, isCurrent);
      if (typeof answered === 'number') {
        this.ioBytes += answered;
        return answered;
      }
      return answered.then((n) => {
        this.ioBytes += n;
        return n;
      });
    };
  }
}

/**
 * CPU time used away from home (the runners' own clocks) and the program's memory there, polled
 * while the program is away.
 */
export class RemoteUsage {
  private retiredMs = 0;
  private retiredWaitMs = 0;
  private current:
    | {
        placement: RemotePlacement;
        cpuTimeMs: number;
        /** Undefined: its runner does not measure it (an older version). */
        homeWaitMs: number | undefined;
        memoryBytes: number;
        asking: boolean;
      }
    | undefined;
  private readonly timer: NodeJS.Timeout;

  // A quarter of the balancer's default interval: read once a second, as often as the balancer
  // reads it, the figure moves in whole steps, and a busy program away could show 0 or 2 s of CPU
  // in one second of the balancer's.
  constructor(placementNow: () => RemotePlacement | undefined, periodMs = 250) {
    this.timer = setInterval(() => {
      const placement = placementNow();
      if (placement !== this.current?.placement) {
        this.retiredMs += this.current?.cpuTimeMs ?? 0;
        this.retiredWaitMs += this.current?.homeWaitMs ?? 0;
        this.current =
          placement === undefined
            ? undefined
            : { placement, cpuTimeMs: 0, homeWaitMs: 0, memoryBytes: 0, asking: false };
      }
      const current = this.current;
      // One question at a time: a runner that does not run (stopped, starved) answers late,
      // and the link waits for it; questions must not pile up meanwhile.
      if (current === undefined || current.asking) return;
      current.asking = true;
      current.placement.info().then(
        (info) => {
          current.asking = false;
          current.cpuTimeMs = info.cpuTimeMs;
          current.homeWaitMs = info.homeWaitMs;
          current.memoryBytes = info.memoryBytes;
        },
        () => undefined, // the link is gone: the placement's outcome says what happened
      );
    }, periodMs);
    this.timer.unref();
  }

  get totalMs(): number {
    return this.retiredMs + (this.current?.cpuTimeMs ?? 0);
  }

  /**
   * Time its calls waited on home while it ran elsewhere, as the runners measured it; undefined
   * when the runner it runs on does not measure it (then the balancer estimates it).
   */
  get homeWaitMs(): number | undefined {
    const current = this.current;
    if (current === undefined) return this.retiredWaitMs;
    return current.homeWaitMs === undefined ? undefined : this.retiredWaitMs + current.homeWaitMs;
  }

  /** The program's memory where it runs now, as last read (0 until then, or at home). */
  get memoryBytes(): number {
    return this.current?.memoryBytes ?? 0;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
