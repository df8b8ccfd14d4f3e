/**
 * MOSIX's priority method (seed 000, III-D), pure: a node ranks the clusters whose programs it
 * hosts. Its own cluster is priority 0 (the best); `clusterPriorities` gives the others a number
 * (lower is better) or blocks them, and once any is listed, clusters not listed are refused. A
 * program of better priority may move in even at the guest limit, and pushes out the guests of
 * worse priority; the node's own programs push out every guest from another cluster.
 */
import { NAME_RE } from '../core/labels.js';

/** Cluster name → priority (1 = best after the own cluster) or 'block'. */
export type ClusterPriorities = Readonly<Record<string, number | 'block'>>;

/** Highest priority number a cluster may be given. */
export const MAX_CLUSTER_PRIORITY = 1000;

/** The own cluster's priority, the best. */
export const OWN_CLUSTER_PRIORITY = 0;

/**
 * A program of `cluster`'s standing here: its priority number, 'block' (its owner refuses the
 * cluster), or 'unrecognized' (priorities are listed and that cluster is not). With no list every
 * cluster ranks with the own one, as before priorities existed.
 */
export function priorityOf(
  cluster: string | undefined,
  ownCluster: string,
  table: ClusterPriorities,
): number | 'block' | 'unrecognized' {
  if (cluster === ownCluster) return OWN_CLUSTER_PRIORITY;
  const listed = Object.keys(table).length > 0;
  if (cluster === undefined) return listed ? 'unrecognized' : OWN_CLUSTER_PRIORITY;
  const p = table[cluster];
  if (p !== undefined) return p;
  return listed ? 'unrecognized' : OWN_CLUSTER_PRIORITY;
}

/** The guests (by index) a program of priority `arriving` pushes out: every one ranked worse. */
export function pushedOutBy(arriving: number, guestPriorities: readonly number[]): number[] {
  const out: number[] = [];
  guestPriorities.forEach((p, i) => {
    if (p > arriving) out.push(i);
  });
  return out;
}

/**
 * Parses `NAME=PRIORITY,NAME=block,…` (or a YAML map of the same) into a table, or the problem
 * with it in one line.
 */
export function parseClusterPriorities(value: unknown): ClusterPriorities | string {
  const entries: [string, unknown][] = [];
  if (typeof value === 'string') {
    for (const item of value.split(',').map((s) => s.trim())) {
      if (item === '') continue;
      const eq = item.indexOf('=');
      if (eq <= 0) return `"${item}" is not NAME=PRIORITY or NAME=block`;
      entries.push([item.slice(0, eq).trim(), item.slice(eq + 1).trim()]);
    }
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    entries.push(...Object.entries(value));
  } else {
    return `expected NAME=PRIORITY,… or a map of cluster to priority, got ${JSON.stringify(value)}`;
  }
  const table: Record<string, number | 'block'> = {};
  for (const [name, raw] of entries) {
    if (!NAME_RE.test(name)) return `cluster name "${name}" must be 1–63 of A-Z a-z 0-9 . _ -`;
    if (raw === 'block') {
      table[name] = 'block';
      continue;
    }
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_CLUSTER_PRIORITY)
      return `priority of cluster ${name} must be 1..${MAX_CLUSTER_PRIORITY} or block, got ${JSON.stringify(raw)}`;
    table[name] = n;
  }
  return table;
}
