/**
 * What moving an image to or from each node costs, learned from the moves a home made: the
 * bytes of each image over its time on the wire. The policy charges a move its image's bytes
 * over the link's rate; a fixed rate (DEFAULT_BALANCE_SETTINGS.linkBytesPerSec, 100 MB/s) is
 * right for one switched gigabit LAN only — a partner cluster behind a 100 Mbit line makes the
 * same move eight times dearer, a 10 Gbit LAN eight times cheaper. Pure: the home's balancer and
 * the simulator feed it the moves they saw.
 */

/** Images smaller than this say more about a move's fixed costs than about the link's rate. */
export const MIN_MEASURED_IMAGE_BYTES = 4 * 1024 * 1024;

/**
 * Weight of what was measured before, at each new move: the rate follows a link whose load
 * changes within a few moves, and one odd move moves it only half-way.
 */
const KEEP = 0.5;

interface Sums {
  bytes: number;
  seconds: number;
}

export class LinkRates {
  private readonly byNode = new Map<string, Sums>();

  /**
   * @param home the node whose moves these are: a move between home and a node measures the
   *   link to that node; a move between two other nodes goes through home (the image is relayed)
   *   and is no faster than either of its links, so it bounds both from below.
   */
  constructor(private readonly home: string) {}

  /** A move of `bytes` from `from` to `to` whose image took `seconds` on the wire. */
  observe(from: string, to: string, bytes: number, seconds: number): void {
    if (!(bytes >= MIN_MEASURED_IMAGE_BYTES) || !(seconds > 0) || !Number.isFinite(seconds)) {
      return;
    }
    for (const node of [from, to]) {
      if (node === this.home) continue;
      const sums = this.byNode.get(node);
      if (sums === undefined) {
        this.byNode.set(node, { bytes, seconds });
      } else {
        // Byte-weighted: a large image, measured best, counts most.
        sums.bytes = sums.bytes * KEEP + bytes;
        sums.seconds = sums.seconds * KEEP + seconds;
      }
    }
  }

  /** Bytes a second between home and `node`, measured; undefined before any large move. */
  rate(node: string): number | undefined {
    const sums = this.byNode.get(node);
    return sums === undefined ? undefined : sums.bytes / sums.seconds;
  }

  /** Every measured link, for `osmo status --json`: node → bytes a second. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const node of this.byNode.keys()) out[node] = this.rate(node)!;
    return out;
  }
}
