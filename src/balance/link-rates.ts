/**
 * What moving an image to or from each node costs, learned from the moves a home made: the
 * bytes of each image over its time on the wire. The policy charges a move its image's bytes
 * over the link's rate; a fixed rate (DEFAULT_BALANCE_SETTINGS.linkBytesPerSec, 100 MB/s) is
 * right for one switched gigabit LAN only — a partner cluster behind a 100 Mbit line makes the
 * same move eight times dearer, a 10 Gbit LAN eight times cheaper. Pure: the home's balancer and
 * the simulator feed it the moves they saw.
 */

/**
 * What a daemon assumes of the line to another cluster before a move measured it: a campus or
 * metro line (100 Mbit/s), an eighth of the LAN's default — slow enough that a home does not
 * send its first images there at the LAN's price; one move then measures it.
 */
export const DEFAULT_OTHER_CLUSTER_LINK_MBIT = 100;

/** Images smaller than this say more about a move's fixed costs than about the link's rate. */
export const MIN_MEASURED_IMAGE_BYTES = 4 * 1024 * 1024;

/**
 * Weight of what was measured before, at each new move: the rate follows a link whose load
 * changes within a few moves, and one odd move moves it only half-way.
 */
const KEEP = 0.5;

/** A link this many times faster than a relayed move went was not what slowed it. */
const CLEARLY_FASTER = 2;

interface Sums {
  bytes: number;
  seconds: number;
}

export interface LinkRatesOptions {
  /**
   * The cluster a node belongs to (gossip says), if known. A cluster's nodes sit behind the
   * same links — their LAN, and a partner cluster's line to ours — so a node not yet measured is
   * charged what its cluster's moves measured. Learnt node by node, every home would first send
   * an image to each node of a partner behind a slow line at the LAN's price.
   */
  readonly clusterOf?: (node: string) => string | undefined;
  /**
   * The rate assumed to a node of another cluster than home's before any move measured its
   * cluster: a partner cluster is reached over a longer, slower line than the LAN.
   */
  readonly otherClusterBytesPerSec?: number;
}

export class LinkRates {
  private readonly byNode = new Map<string, Sums>();
  private readonly byCluster = new Map<string, Sums>();

  /**
   * @param home the node whose moves these are: a move between home and a node measures the
   *   link to that node; a move between two other nodes goes through home (the image is relayed)
   *   and is no faster than either of its links, so it bounds both from below.
   */
  constructor(
    private readonly home: string,
    private readonly options: LinkRatesOptions = {},
  ) {}

  /** A move of `bytes` from `from` to `to` whose image took `seconds` on the wire. */
  observe(from: string, to: string, bytes: number, seconds: number): void {
    if (!(bytes >= MIN_MEASURED_IMAGE_BYTES) || !(seconds > 0) || !Number.isFinite(seconds)) {
      return;
    }
    const observed = bytes / seconds;
    const ends = [from, to].filter((node) => node !== this.home);
    // Relayed through home, the move went at its slower link's pace: an end known to be
    // clearly faster was not that link, and learns nothing from it. Else both are bounded.
    const known = ends.filter((node) => !((this.measured(node) ?? 0) > observed * CLEARLY_FASTER));
    const paced = known.length > 0 ? known : ends;
    for (const node of paced) add(this.byNode, node, bytes, seconds);
    // Between two clusters, which line was the slower may be unknown: only a move that
    // crossed one cluster's links alone says what they are.
    const clusters = new Set(paced.map((node) => this.options.clusterOf?.(node)));
    const [cluster] = clusters;
    if (clusters.size === 1 && cluster !== undefined) add(this.byCluster, cluster, bytes, seconds);
  }

  /**
   * Bytes a second between home and `node`: measured to it, else to its cluster, else assumed
   * for another cluster (options); undefined if none of these.
   */
  rate(node: string): number | undefined {
    const cluster = this.options.clusterOf?.(node);
    const measured = this.measured(node, cluster);
    if (measured !== undefined || cluster === undefined) return measured;
    const own = this.options.clusterOf?.(this.home);
    return own === undefined || cluster === own ? undefined : this.options.otherClusterBytesPerSec;
  }

  /** What moves measured to `node`, else to its `cluster`: rate without the assumption. */
  private measured(node: string, cluster = this.options.clusterOf?.(node)): number | undefined {
    const sums =
      this.byNode.get(node) ?? (cluster === undefined ? undefined : this.byCluster.get(cluster));
    return sums === undefined ? undefined : sums.bytes / sums.seconds;
  }

  /** Every measured link, for `osmo status --json`: node → bytes a second. */
  snapshot(): Record<string, number> {
    return ratesOf(this.byNode);
  }

  /** Every measured cluster: cluster → bytes a second. */
  clusterSnapshot(): Record<string, number> {
    return ratesOf(this.byCluster);
  }
}

function ratesOf(sums: ReadonlyMap<string, Sums>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, { bytes, seconds }] of sums) out[key] = bytes / seconds;
  return out;
}

function add(sums: Map<string, Sums>, key: string, bytes: number, seconds: number): void {
  const known = sums.get(key);
  if (known === undefined) {
    sums.set(key, { bytes, seconds });
  } else {
    // Byte-weighted: a large image, measured best, counts most.
    known.bytes = known.bytes * KEEP + bytes;
    known.seconds = known.seconds * KEEP + seconds;
  }
}
