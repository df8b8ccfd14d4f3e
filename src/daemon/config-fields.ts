/**
 * The table of daemon configuration fields: name, kind, default, help, range. Kept apart from
 * config.ts (which pulls in the YAML parser) so that `osmo --help` and other commands load fast.
 */
import { MAX_WINDOW_ENTRIES } from '../gossip/config.js';

import type { DaemonConfig } from './config.js';

export type Kind =
  | 'string'
  | 'path'
  | 'int'
  | 'number'
  | 'bool'
  | 'hostport'
  | 'hostports'
  | 'level'
  | 'loadSource'
  | 'priorities';

export interface FieldSpec {
  readonly key: keyof DaemonConfig;
  readonly kind: Kind;
  /** Shown in --help and docs; `undefined` for computed defaults (see `defaultText`). */
  readonly defaultText: string;
  readonly help: string;
  readonly min?: number;
  readonly max?: number;
}

export const CONFIG_FIELDS: readonly FieldSpec[] = [
  {
    key: 'name',
    kind: 'string',
    defaultText: 'host name',
    help: 'node name (1–63 of A-Z a-z 0-9 . _ -)',
  },
  {
    key: 'id',
    kind: 'int',
    defaultText: '0 (from the name, or the line in mapFile)',
    help: 'node number, u32',
    min: 0,
    max: 0xffffffff,
  },
  {
    key: 'listen',
    kind: 'hostport',
    defaultText: '0.0.0.0:5301',
    help: 'UDP host:port the gossip socket binds to',
  },
  {
    key: 'metricsListen',
    kind: 'hostport',
    defaultText: 'off',
    help: 'TCP host:port of an HTTP endpoint with Prometheus metrics at /metrics (no authentication: loopback or a management network)',
  },
  {
    key: 'advertise',
    kind: 'hostport',
    defaultText: 'listen address',
    help: 'host:port other nodes send to',
  },
  {
    key: 'cluster',
    kind: 'string',
    defaultText: 'default',
    help: 'cluster name (gossip prefers own-cluster targets)',
  },
  {
    key: 'secretFile',
    kind: 'path',
    defaultText: '(required)',
    help: 'file with the cluster secret, at least 16 bytes, not readable by every user (mode 600 or 640)',
  },
  {
    key: 'stateDir',
    kind: 'path',
    defaultText: '$XDG_STATE_HOME/osmosis or ~/.local/state/osmosis',
    help: 'state directory (mode 0700)',
  },
  {
    key: 'peers',
    kind: 'hostports',
    defaultText: 'none',
    help: 'comma-separated host:port of nodes to join through',
  },
  {
    key: 'mapFile',
    kind: 'path',
    defaultText: 'none',
    help: 'static node map, one "[name] host:port" per line (like mosix.map)',
  },
  {
    key: 'controlSocket',
    kind: 'path',
    defaultText: '$XDG_RUNTIME_DIR/osmosis/daemon.sock or /tmp/osmosis-$UID/daemon.sock',
    help: 'control API Unix socket',
  },
  {
    key: 'usersSocket',
    kind: 'path',
    defaultText: 'none',
    help: 'a second control socket for every local user (mode 0666): status, placement, ps, not osmo ctl; e.g. /run/osmosis/users.sock',
  },
  {
    key: 'gossipIntervalMs',
    kind: 'int',
    defaultText: '1000',
    help: 'gossip period, ms',
    min: 10,
    max: 3_600_000,
  },
  {
    key: 'windowSize',
    kind: 'int',
    defaultText: '16',
    help: 'entries per gossip window (own + w−1 youngest); with windowMaxAgeMs, the most a window carries',
    min: 1,
    max: MAX_WINDOW_ENTRIES,
  },
  {
    key: 'windowMaxAgeMs',
    kind: 'int',
    defaultText: 'unset (fixed window)',
    help: 'send every entry at most this old instead of a fixed number (the threshold window of the age formulas), ms',
    min: 0,
    max: 3_600_000,
  },
  {
    key: 'maxAgeMs',
    kind: 'int',
    defaultText: '600000',
    help: 'entries older than this are dropped (dead nodes fade), ms',
    min: 1,
  },
  {
    key: 'ownClusterProbability',
    kind: 'number',
    defaultText: '0.9',
    help: 'probability of gossiping inside the own cluster',
    min: 0,
    max: 1,
  },
  {
    key: 'anyNodeProbability',
    kind: 'number',
    defaultText: '0.01',
    help: 'probability of probing any node ever known',
    min: 0,
    max: 1,
  },
  {
    key: 'transitEstimateMs',
    kind: 'int',
    defaultText: '0',
    help: 'transit time added to received ages, ms',
    min: 0,
    max: 60_000,
  },
  {
    key: 'loadSampleIntervalMs',
    kind: 'int',
    defaultText: '1000',
    help: 'run-queue sampling period, ms',
    min: 10,
    max: 60_000,
  },
  {
    key: 'speed',
    kind: 'int',
    defaultText: '0 (measure)',
    help: 'CPU speed, units of 10 000 = reference processor',
    min: 0,
    max: 0xffffffff,
  },
  {
    key: 'cpus',
    kind: 'int',
    defaultText: '0 (detect)',
    help: 'number of processors',
    min: 0,
    max: 65_536,
  },
  {
    key: 'maxGuests',
    kind: 'int',
    defaultText: '0 (four per CPU)',
    help: 'most guests admitted at once',
    min: 0,
    max: 1_000_000,
  },
  {
    key: 'stopWithParent',
    kind: 'bool',
    defaultText: 'false',
    help: 'stop, as on SIGTERM, once the process that started the daemon has ended (for a cluster a script starts: osmo demo sets it)',
  },
  { key: 'acceptGuests', kind: 'bool', defaultText: 'true', help: 'accept migrated guests' },
  {
    key: 'native',
    kind: 'bool',
    defaultText: 'false',
    help: "run users' native programs (osmo run -E) as those users, never root: they are not sandboxed",
  },
  {
    key: 'clusterPriorities',
    kind: 'priorities',
    defaultText: 'none (every cluster in the view, ranked with the own one)',
    help: 'guests of other clusters: NAME=PRIORITY (1 = best; the own cluster is 0) or NAME=block, comma-separated; once any is listed, unlisted clusters are refused; a better-ranked program pushes worse-ranked guests out',
  },
  {
    key: 'runnerUser',
    kind: 'string',
    defaultText: "nobody when root, else the daemon's user",
    help: 'user the guest runners run as',
  },
  {
    key: 'spareRunners',
    kind: 'int',
    defaultText: '1',
    help: 'guest runners kept started ahead, so a move pays no start-up',
    min: 0,
    max: 64,
  },
  {
    key: 'linkTls',
    kind: 'bool',
    defaultText: 'false',
    help: 'wrap node-to-node and runner links in TLS (PSK from the secret)',
  },
  {
    key: 'loadSource',
    kind: 'loadSource',
    defaultText: 'host',
    help: "what the load counts: host = the kernel's run queue, osmosis = the Osmosis programs running here (several nodes on one host)",
  },
  {
    key: 'balance',
    kind: 'bool',
    defaultText: 'true',
    help: "move this home's programs automatically to where they run best",
  },
  {
    key: 'balanceIntervalMs',
    kind: 'int',
    defaultText: '1000',
    help: "how often the balancer looks at this home's programs, ms",
    min: 50,
    max: 3_600_000,
  },
  {
    key: 'minResidencyMs',
    kind: 'int',
    defaultText: '3000',
    help: 'least time a program stays where it arrived before it moves again, ms',
    min: 0,
    max: 86_400_000,
  },
  {
    key: 'linkMbit',
    kind: 'number',
    defaultText: '800',
    help: "the rate the balancer charges a move's image to a node whose link no move has measured yet (a move of 4 MiB or more measures it), Mbit/s",
    min: 1,
    max: 1_000_000,
  },
  {
    key: 'otherClusterLinkMbit',
    kind: 'number',
    defaultText: '100',
    help: 'the same for a node of another cluster until a move to its cluster measured the line, Mbit/s (one move measures the whole cluster)',
    min: 1,
    max: 1_000_000,
  },
  {
    key: 'maxLocalProcesses',
    kind: 'int',
    defaultText: '0 (no limit)',
    help: "flood control: most of this home's programs running here at once; more are frozen and continued in turn",
    min: 0,
    max: 1_000_000,
  },
  {
    key: 'frozenTurnMs',
    kind: 'int',
    defaultText: '60000',
    help: 'flood control: a program frozen this long trades places with one that ran this long, ms (0 = only as places free up)',
    min: 0,
    max: 86_400_000,
  },
  {
    key: 'maxDatagramBytes',
    kind: 'int',
    defaultText: '16384',
    help: 'largest gossip datagram sent or accepted, bytes',
    min: 512,
    max: 65_507,
  },
  {
    key: 'discovery',
    kind: 'bool',
    defaultText: 'false',
    help: 'LAN auto-discovery by UDP multicast/broadcast',
  },
  {
    key: 'discoveryAddress',
    kind: 'hostport',
    defaultText: '239.255.77.1:5302',
    help: 'multicast group or broadcast address:port for discovery',
  },
  {
    key: 'discoveryIntervalMs',
    kind: 'int',
    defaultText: '10000',
    help: 'discovery beacon period, ms',
    min: 10,
    max: 3_600_000,
  },
  {
    key: 'dropLogIntervalMs',
    kind: 'int',
    defaultText: '10000',
    help: 'rate limit of "dropped N datagrams" log lines, ms',
    min: 0,
    max: 3_600_000,
  },
  { key: 'logLevel', kind: 'level', defaultText: 'info', help: 'debug | info | warn | error' },
];

/** `gossipIntervalMs` → `--gossip-interval-ms`. */
export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** `gossipIntervalMs` → `OSMOSIS_GOSSIP_INTERVAL_MS`. */
export function envName(key: string): string {
  return 'OSMOSIS_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}
