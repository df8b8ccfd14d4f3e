/**
 * What a daemon tells Prometheus (config `metricsListen`, docs/daemon.md "Metrics"): this node's
 * resources as it gossips them, its guests, the cluster it sees, its moves and admissions, and
 * its gossip traffic. Every figure is read from the daemon's own snapshots (`status`, `stats`,
 * the counts below) when Prometheus scrapes, so nothing here runs between scrapes; the daemon
 * process's own CPU, memory and event-loop delay come from prom-client's default metrics.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatsResult, StatusResult } from './control-protocol.js';
import { statusWords } from './measure/sampler.js';

/** Moves this home's balancer carried out, by why and whether they worked. */
export interface MoveCount {
  readonly reason: string;
  readonly ok: boolean;
  readonly count: number;
}

/** The daemon's state, read at each scrape. */
export interface MetricsSource {
  status(): StatusResult;
  stats(): StatsResult;
  /** Guests here now: all, those whose program runs (not still arriving), native ones. */
  guests(): { all: number; running: number; native: number };
  moves(): readonly MoveCount[];
  admissions(): { admitted: number; refused: number };
  /** Mailbox messages between homes, through this daemon (mailbox-relay.ts). */
  mailboxMessages(): MailboxCounts;
}

/** Messages this home's programs sent to other homes (out), and other homes' to them (in). */
export interface MailboxCounts {
  readonly out: { readonly ok: number; readonly failed: number };
  readonly in: { readonly ok: number; readonly failed: number };
}

/** Node status words (statusWords) that get a series of their own, 0 or 1. */
const STATUS_WORDS = ['accepting', 'blocked', 'reserved', 'draining', 'native'] as const;

/** Transport and gossip counters, by the name Prometheus sees (each ends in _total). */
const TRANSPORT_COUNTERS = [
  ['datagramsSent', 'osmosis_gossip_datagrams_sent_total', 'gossip datagrams sent'],
  ['datagramsReceived', 'osmosis_gossip_datagrams_received_total', 'gossip datagrams received'],
  ['bytesSent', 'osmosis_gossip_bytes_sent_total', 'gossip bytes sent'],
  ['bytesReceived', 'osmosis_gossip_bytes_received_total', 'gossip bytes received'],
  ['sendErrors', 'osmosis_gossip_send_errors_total', 'gossip datagrams that failed to send'],
] as const;

const ENTRY_KINDS = [
  ['entriesAccepted', 'accepted'],
  ['entriesStale', 'stale'],
  ['entriesExpired', 'expired'],
  ['entriesFromFuture', 'from_future'],
  ['entriesAboutSelf', 'about_self'],
] as const;

/** A registry of this daemon's metrics (its own: several daemons may share a process in tests). */
export function daemonMetrics(source: MetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'osmosis_daemon_' });
  // One snapshot per scrape: every collect() below reads the same one.
  type Snapshot = {
    status: StatusResult;
    stats: StatsResult;
    guests: ReturnType<MetricsSource['guests']>;
  };
  let snapshot: Snapshot | undefined;
  const take = (): Snapshot => {
    // Forgotten once this scrape's collects have run (they run in one turn of the event loop).
    queueMicrotask(() => (snapshot = undefined));
    return { status: source.status(), stats: source.stats(), guests: source.guests() };
  };
  const status = (): StatusResult => (snapshot ??= take()).status;
  const stats = (): StatsResult => (snapshot ??= take()).stats;
  const guests = (): Snapshot['guests'] => (snapshot ??= take()).guests;
  const self = (): StatusResult['nodes'][number] | undefined => status().nodes.find((n) => n.self);

  type Collect = (set: (labels: Record<string, string>, value: number) => void) => void;
  /**
   * A metric whose series are set afresh at each scrape by `collect`. A counter mirrors a count
   * kept elsewhere (it only ever grows there).
   */
  const metric = (
    type: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: readonly string[],
    collect: Collect,
  ): void => {
    const options = { name, help, labelNames, registers: [registry] };
    if (type === 'gauge')
      new Gauge({
        ...options,
        collect() {
          this.reset();
          collect((l, v) => this.set(l, v));
        },
      });
    else
      new Counter({
        ...options,
        collect() {
          this.reset();
          collect((l, v) => this.inc(l, v));
        },
      });
  };
  const gauge = (name: string, help: string, labelNames: readonly string[], collect: Collect) =>
    metric('gauge', name, help, labelNames, collect);
  const counter = (name: string, help: string, labelNames: readonly string[], collect: Collect) =>
    metric('counter', name, help, labelNames, collect);

  gauge(
    'osmosis_node_info',
    'this node: its name and cluster (always 1)',
    ['node', 'cluster'],
    (set) => set({ node: status().node, cluster: status().cluster }, 1),
  );
  gauge(
    'osmosis_node_load',
    'smoothed load per processor, in reference-processor units',
    [],
    (set) => set({}, self()?.load ?? 0),
  );
  gauge('osmosis_node_speed', 'speed of one processor (10 000 is the reference)', [], (set) =>
    set({}, self()?.speed ?? 0),
  );
  gauge('osmosis_node_cpus', 'processors', [], (set) => set({}, self()?.cpus ?? 0));
  gauge('osmosis_node_memory_free_bytes', 'free memory as gossiped', [], (set) =>
    set({}, self()?.freeMemBytes ?? 0),
  );
  gauge('osmosis_node_memory_total_bytes', 'total memory', [], (set) =>
    set({}, self()?.totalMemBytes ?? 0),
  );
  gauge(
    'osmosis_node_status',
    'this node as gossiped: accepting or blocked or reserved, draining, native (1 if so)',
    ['status'],
    (set) => {
      const words = new Set(statusWords(self()?.flags ?? 0));
      for (const word of STATUS_WORDS) set({ status: word }, words.has(word) ? 1 : 0);
    },
  );
  gauge(
    'osmosis_guests',
    'programs of other homes here: running, or arriving (placed, not started yet)',
    ['state'],
    (set) => {
      const here = guests();
      set({ state: 'running' }, here.running);
      set({ state: 'arriving' }, here.all - here.running);
    },
  );
  gauge('osmosis_guests_native', 'native programs (osmo run -E) among the guests', [], (set) =>
    set({}, guests().native),
  );
  gauge(
    'osmosis_home_processes',
    "this home's programs its balancer watches, wherever they run",
    [],
    (set) => set({}, status().homeProcesses ?? 0),
  );
  gauge(
    'osmosis_cluster_nodes',
    'nodes in this node’s view: alive (heard from within maxAgeMs) or not',
    ['cluster', 'state'],
    (set) => {
      const counts = new Map<string, { cluster: string; state: string; count: number }>();
      for (const n of status().nodes) {
        const state = n.alive ? 'alive' : 'silent';
        const key = `${n.cluster} ${state}`;
        const c = counts.get(key) ?? { cluster: n.cluster, state, count: 0 };
        c.count++;
        counts.set(key, c);
      }
      for (const { cluster, state, count } of counts.values()) set({ cluster, state }, count);
    },
  );
  gauge(
    'osmosis_link_bytes_per_second',
    'measured rate of the link to each node a large image moved to or from',
    ['node'],
    (set) => {
      for (const [node, rate] of Object.entries(status().linkBytesPerSec ?? {}))
        set({ node }, rate);
    },
  );
  counter(
    'osmosis_migrations_total',
    "moves of this home's programs its balancer carried out (automatic, asked for, expelled…)",
    ['reason', 'result'],
    (set) => {
      for (const m of source.moves())
        set({ reason: m.reason, result: m.ok ? 'ok' : 'failed' }, m.count);
    },
  );
  counter(
    'osmosis_admissions_total',
    'programs of other homes this node was asked to take',
    ['result'],
    (set) => {
      const a = source.admissions();
      set({ result: 'admitted' }, a.admitted);
      set({ result: 'refused' }, a.refused);
    },
  );
  counter(
    'osmosis_mailbox_messages_total',
    'mailbox messages between homes: out, sent by programs of this home; in, for them',
    ['direction', 'result'],
    (set) => {
      const m = source.mailboxMessages();
      for (const direction of ['out', 'in'] as const) {
        set({ direction, result: 'ok' }, m[direction].ok);
        set({ direction, result: 'failed' }, m[direction].failed);
      }
    },
  );
  for (const [key, name, help] of TRANSPORT_COUNTERS) {
    counter(name, help, [], (set) => set({}, stats().transport[key]));
  }
  counter('osmosis_gossip_drops_total', 'gossip datagrams dropped, by why', ['reason'], (set) => {
    for (const [reason, count] of Object.entries(stats().transport.drops)) set({ reason }, count);
  });
  counter('osmosis_gossip_messages_received_total', 'gossip windows received', [], (set) =>
    set({}, stats().gossip.messagesReceived),
  );
  counter(
    'osmosis_gossip_entries_total',
    'entries of received windows: accepted (fresher), stale, expired, from the future, about this node',
    ['kind'],
    (set) => {
      const g = stats().gossip;
      for (const [key, kind] of ENTRY_KINDS) set({ kind }, g[key]);
    },
  );
  return registry;
}
