/**
 * The node daemon's one typed configuration. Every field has a default, a unit in its name, a
 * YAML key, an environment variable and a flag; precedence is defaults < file < environment <
 * flags. {@link loadDaemonConfig} reports every problem at once (E_CONFIG, `details.problems`).
 *
 * The field table below is the single source for validation, `osmo daemon --help`, and
 * docs/daemon.md.
 */
import { DEFAULT_OTHER_CLUSTER_LINK_MBIT } from '../balance/link-rates.js';
import { parseClusterPriorities } from './cluster-priority.js';
import type { ClusterPriorities } from './cluster-priority.js';
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { OsmoError } from '../core/errors.js';
import { NAME_RE } from '../core/labels.js';
import { CONFIG_FIELDS, envName, flagName } from './config-fields.js';
import type { FieldSpec } from './config-fields.js';
import { parseHostPort } from '../platform/address.js';
import type { HostPort } from '../platform/address.js';
import { defaultControlSocket } from './socket-path.js';

export interface DaemonConfig {
  /** Node name shown by `osmo status`/`osmo mon`: 1–63 of [A-Za-z0-9._-]. */
  readonly name: string;
  /** Node number (u32); 0 = derived from the name (or the position in mapFile). */
  readonly id: number;
  /** UDP address the gossip socket binds to. */
  readonly listen: HostPort;
  /** Address other nodes send to; empty = `listen` (or this host's first IPv4 if listen is 0.0.0.0). */
  readonly advertise: HostPort | undefined;
  /** Where Prometheus scrapes this daemon (metrics.ts); undefined: no endpoint. */
  readonly metricsListen: HostPort | undefined;
  readonly cluster: string;
  /** File holding the cluster secret (≥ 16 bytes); every node of the cloud uses the same. */
  readonly secretFile: string;
  /** Where the daemon keeps its state (the replay epoch). Created with mode 0700. */
  readonly stateDir: string;
  /** Nodes to contact to join (host:port). */
  readonly peers: readonly HostPort[];
  /** A static map like MOSIX's mosix.map: one node per line, `[name] host:port`, `#` comments. */
  readonly mapFile: string | undefined;
  /** Unix socket of the control API (mode 0600 inside a 0700 directory). */
  readonly controlSocket: string;
  /**
   * A second socket any local user may use (mode 0666): everything but node administration.
   * For a daemon run as root, so that every user's `osmo run` and `osmo ps` reach it.
   */
  readonly usersSocket: string | undefined;
  readonly gossipIntervalMs: number;
  /** Entries per window: own + windowSize − 1 youngest others (with windowMaxAgeMs: the most). */
  readonly windowSize: number;
  /**
   * Set: the window is every entry at most this old (the threshold window of the age formulas),
   * at most windowSize of them. Unset: the fixed window of windowSize.
   */
  readonly windowMaxAgeMs: number | undefined;
  readonly maxAgeMs: number;
  readonly ownClusterProbability: number;
  readonly anyNodeProbability: number;
  readonly transitEstimateMs: number;
  readonly loadSampleIntervalMs: number;
  /** 0 = measure at start-up (MOSIX speed units, 10 000 = reference processor). */
  readonly speed: number;
  /** 0 = detect. */
  readonly cpus: number;
  /** Most guests admitted at once; 0 = four per CPU (a flood guard: the balancer weighs load). */
  readonly maxGuests: number;
  readonly acceptGuests: boolean;
  /** Runs users' native programs (osmo run -E, docs/native.md): not sandboxed, so off unless said. */
  readonly native: boolean;
  /** The priority method (cluster-priority.ts): other clusters' rank here; {} = all equal. */
  readonly clusterPriorities: ClusterPriorities;
  /** User name the guest runners run as; undefined = nobody when root, else the daemon's user. */
  readonly runnerUser: string | undefined;
  readonly spareRunners: number;
  readonly linkTls: boolean;
  /** host: the kernel's run queue; osmosis: the Osmosis programs running here. */
  readonly loadSource: 'host' | 'osmosis';
  /** Automatic migration of this home's programs (the decision loop). */
  readonly balance: boolean;
  readonly balanceIntervalMs: number;
  readonly minResidencyMs: number;
  /** What a link carries until a move has measured it, Mbit/s. */
  readonly linkMbit: number;
  /** What the link to another cluster carries until a move has measured it, Mbit/s. */
  readonly otherClusterLinkMbit: number;
  /** Flood control: most programs of this home running here at once (more are frozen); 0 = no limit. */
  readonly maxLocalProcesses: number;
  /** Flood control: how long a frozen program waits before it trades places with a running one. */
  readonly frozenTurnMs: number;
  /** Largest datagram sent or accepted, header included. */
  readonly maxDatagramBytes: number;
  /** Opt-in LAN auto-discovery by UDP multicast (224.0.0.0/4) or broadcast. */
  readonly discovery: boolean;
  readonly discoveryAddress: HostPort;
  readonly discoveryIntervalMs: number;
  /** At most one "dropped N datagrams from X" line per peer and reason per this interval. */
  readonly dropLogIntervalMs: number;
  /**
   * Stop, as on SIGTERM, once the process that started this daemon is gone (the daemon is
   * re-parented): a cluster started by a script or `osmo demo` does not outlive it.
   */
  readonly stopWithParent: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export { CONFIG_FIELDS, envName, flagName } from './config-fields.js';
export type { FieldSpec } from './config-fields.js';

/** A raw value as it came from a source, before coercion. */
type Raw = unknown;

export interface ConfigSources {
  /** Path of a YAML file (`--config`); values inside are typed or strings. */
  readonly file?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Flag values by config key (strings, as typed). */
  readonly flags?: Readonly<Partial<Record<keyof DaemonConfig, string>>>;
}

function defaultStateDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'osmosis');
  if (process.getuid?.() === 0) return '/var/lib/osmosis';
  return join(os.homedir(), '.local', 'state', 'osmosis');
}

function defaultName(): string {
  const host = os.hostname().split('.')[0] ?? 'node';
  const cleaned = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
  return cleaned.length > 0 ? cleaned : 'node';
}

/** FNV-1a of the name, never 0 (0 means "derive"). */
export function idFromName(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0 || 1;
}

export interface MapEntry {
  readonly name: string | undefined;
  readonly address: HostPort;
  readonly line: number;
}

/** Parses a node map; problems are pushed, good lines returned. */
export function parseMapFile(text: string, file: string, problems: string[]): MapEntry[] {
  const out: MapEntry[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.replace(/#.*/, '').trim();
    if (line === '') return;
    const parts = line.split(/\s+/);
    const [first, second, ...rest] = parts;
    const name = parts.length >= 2 ? first : undefined;
    const addrText = parts.length >= 2 ? second : first;
    const where = `mapFile ${file}:${i + 1}`;
    if (rest.length > 0 || addrText === undefined) {
      problems.push(`${where}: expected "[name] host:port", got "${line}"`);
      return;
    }
    if (name !== undefined && !NAME_RE.test(name)) {
      problems.push(`${where}: name "${name}" must be 1–63 of A-Z a-z 0-9 . _ -`);
      return;
    }
    const address = parseHostPort(addrText);
    if (typeof address === 'string') {
      problems.push(`${where}: ${address}`);
      return;
    }
    out.push({ name, address, line: i + 1 });
  });
  return out;
}

/** The resolved configuration plus what start-up needs from the files it read. */
export interface LoadedConfig {
  readonly config: DaemonConfig;
  readonly secret: Buffer;
  /** Where each field's value came from (for the start-up log line). */
  readonly origin: Readonly<Record<string, 'default' | 'file' | 'env' | 'flag'>>;
}

export function loadDaemonConfig(sources: ConfigSources): LoadedConfig {
  const env = sources.env ?? {};
  const problems: string[] = [];
  const raw = new Map<string, { value: Raw; from: 'file' | 'env' | 'flag' }>();
  const known = new Set<string>(CONFIG_FIELDS.map((f) => f.key));

  if (sources.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(sources.file, 'utf8'));
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      problems.push(`config file ${sources.file}: ${why}`);
    }
    if (parsed !== undefined && parsed !== null) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push(`config file ${sources.file}: expected a mapping of field: value`);
      } else {
        for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
          if (!known.has(k)) {
            problems.push(`config file ${sources.file}: unknown field "${k}"${suggest(k, known)}`);
          } else raw.set(k, { value: v, from: 'file' });
        }
      }
    }
  }
  for (const f of CONFIG_FIELDS) {
    const v = env[envName(f.key)];
    if (v !== undefined && v !== '') raw.set(f.key, { value: v, from: 'env' });
  }
  for (const [k, v] of Object.entries(sources.flags ?? {})) {
    if (v !== undefined) raw.set(k, { value: v, from: 'flag' });
  }

  const values: Record<string, unknown> = {};
  const origin: Record<string, 'default' | 'file' | 'env' | 'flag'> = {};
  for (const f of CONFIG_FIELDS) {
    const entry = raw.get(f.key);
    origin[f.key] = entry?.from ?? 'default';
    if (entry === undefined) continue;
    const where = `${f.key} (${describeSource(entry.from, f.key, sources.file)})`;
    const v = coerce(f, entry.value, where, problems);
    if (v !== undefined) values[f.key] = v;
  }

  const name = (values.name as string | undefined) ?? defaultName();
  if (!NAME_RE.test(name)) problems.push(`name "${name}" must be 1–63 of A-Z a-z 0-9 . _ -`);
  const cluster = (values.cluster as string | undefined) ?? 'default';
  if (cluster.length === 0 || Buffer.byteLength(cluster) > 64)
    problems.push(`cluster "${cluster}" must be 1–64 bytes`);

  const listen = (values.listen as HostPort | undefined) ?? { host: '0.0.0.0', port: 5301 };
  const secretFile = values.secretFile as string | undefined;
  let secret = Buffer.alloc(0);
  if (secretFile === undefined) {
    problems.push(
      `secretFile is required: ${flagName('secretFile')} FILE or ${envName('secretFile')} (a file with at least 16 random bytes, the same on every node)`,
    );
  } else {
    try {
      secret = Buffer.from(readFileSync(secretFile, 'utf8').trim(), 'utf8');
      if (secret.length < 16)
        problems.push(
          `secretFile ${secretFile}: ${secret.length} bytes; use at least 16 (e.g. openssl rand -hex 32 > ${secretFile})`,
        );
      // Whoever reads it can join the cluster as any node: send programs, take guests' links.
      const mode = statSync(secretFile).mode & 0o777;
      if ((mode & 0o004) !== 0)
        problems.push(
          `secretFile ${secretFile}: every user of this host may read it (mode ${mode.toString(8).padStart(4, '0')}), and with it act as any node of the cluster; chmod 600 ${secretFile} (640 to share it with a group)`,
        );
    } catch (e) {
      problems.push(`secretFile ${secretFile}: cannot read it (${errnoText(e)})`);
    }
  }

  const gossipIntervalMs = (values.gossipIntervalMs as number | undefined) ?? 1000;
  const maxAgeMs = (values.maxAgeMs as number | undefined) ?? 600_000;
  if (maxAgeMs < 3 * gossipIntervalMs)
    problems.push(
      `maxAgeMs ${maxAgeMs} must be at least 3 × gossipIntervalMs (${3 * gossipIntervalMs}); live nodes would flicker out`,
    );

  let peers = (values.peers as HostPort[] | undefined) ?? [];
  const mapFile = values.mapFile as string | undefined;
  let id = (values.id as number | undefined) ?? 0;
  if (mapFile !== undefined) {
    try {
      const entries = parseMapFile(readFileSync(mapFile, 'utf8'), mapFile, problems);
      const adv = (values.advertise as HostPort | undefined) ?? listen;
      const self = entries.findIndex(
        (e) => e.name === name || (e.address.host === adv.host && e.address.port === adv.port),
      );
      if (id === 0 && self >= 0) id = self + 1;
      peers = [...peers, ...entries.filter((_, i) => i !== self).map((e) => e.address)];
    } catch (e) {
      problems.push(`mapFile ${mapFile}: cannot read it (${errnoText(e)})`);
    }
  }
  if (id === 0) id = idFromName(name);

  if (problems.length > 0) {
    throw new OsmoError('E_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  const config: DaemonConfig = {
    name,
    id,
    listen,
    advertise: values.advertise as HostPort | undefined,
    metricsListen: values.metricsListen as HostPort | undefined,
    cluster,
    secretFile: secretFile ?? '',
    stateDir: resolve((values.stateDir as string | undefined) ?? defaultStateDir(env)),
    peers,
    mapFile,
    controlSocket: resolve(
      (values.controlSocket as string | undefined) ?? defaultControlSocket(env),
    ),
    usersSocket:
      values.usersSocket === undefined ? undefined : resolve(values.usersSocket as string),
    gossipIntervalMs,
    windowSize: (values.windowSize as number | undefined) ?? 16,
    windowMaxAgeMs: values.windowMaxAgeMs as number | undefined,
    maxAgeMs,
    ownClusterProbability: (values.ownClusterProbability as number | undefined) ?? 0.9,
    anyNodeProbability: (values.anyNodeProbability as number | undefined) ?? 0.01,
    transitEstimateMs: (values.transitEstimateMs as number | undefined) ?? 0,
    loadSampleIntervalMs: (values.loadSampleIntervalMs as number | undefined) ?? 1000,
    speed: (values.speed as number | undefined) ?? 0,
    cpus: (values.cpus as number | undefined) ?? 0,
    maxGuests: (values.maxGuests as number | undefined) ?? 0,
    acceptGuests: (values.acceptGuests as boolean | undefined) ?? true,
    native: (values.native as boolean | undefined) ?? false,
    clusterPriorities: (values.clusterPriorities as ClusterPriorities | undefined) ?? {},
    runnerUser: values.runnerUser as string | undefined,
    spareRunners: (values.spareRunners as number | undefined) ?? 1,
    linkTls: (values.linkTls as boolean | undefined) ?? false,
    loadSource: (values.loadSource as DaemonConfig['loadSource'] | undefined) ?? 'host',
    balance: (values.balance as boolean | undefined) ?? true,
    balanceIntervalMs: (values.balanceIntervalMs as number | undefined) ?? 1000,
    minResidencyMs: (values.minResidencyMs as number | undefined) ?? 3000,
    linkMbit: (values.linkMbit as number | undefined) ?? 800,
    otherClusterLinkMbit:
      (values.otherClusterLinkMbit as number | undefined) ?? DEFAULT_OTHER_CLUSTER_LINK_MBIT,
    maxLocalProcesses: (values.maxLocalProcesses as number | undefined) ?? 0,
    frozenTurnMs: (values.frozenTurnMs as number | undefined) ?? 60_000,
    maxDatagramBytes: (values.maxDatagramBytes as number | undefined) ?? 16_384,
    discovery: (values.discovery as boolean | undefined) ?? false,
    discoveryAddress: (values.discoveryAddress as HostPort | undefined) ?? {
      host: '239.255.77.1',
      port: 5302,
    },
    discoveryIntervalMs: (values.discoveryIntervalMs as number | undefined) ?? 10_000,
    dropLogIntervalMs: (values.dropLogIntervalMs as number | undefined) ?? 10_000,
    stopWithParent: (values.stopWithParent as boolean | undefined) ?? false,
    logLevel: (values.logLevel as DaemonConfig['logLevel'] | undefined) ?? 'info',
  };
  return { config, secret, origin };
}

function describeSource(
  from: 'file' | 'env' | 'flag',
  key: string,
  file: string | undefined,
): string {
  if (from === 'file') return `in ${file ?? 'config file'}`;
  if (from === 'env') return `from ${envName(key)}`;
  return `from ${flagName(key)}`;
}

function coerce(f: FieldSpec, value: Raw, where: string, problems: string[]): unknown {
  const text = typeof value === 'string' ? value.trim() : value;
  switch (f.kind) {
    case 'string':
    case 'path':
      if (typeof text === 'string' && text.length > 0) return text;
      if (typeof text === 'number' && f.kind === 'string') return String(text);
      problems.push(`${where}: expected a non-empty string, got ${show(value)}`);
      return undefined;
    case 'int':
    case 'number': {
      const n =
        typeof text === 'number'
          ? text
          : typeof text === 'string' && text !== ''
            ? Number(text)
            : NaN;
      if (!Number.isFinite(n) || (f.kind === 'int' && !Number.isInteger(n))) {
        problems.push(
          `${where}: expected ${f.kind === 'int' ? 'an integer' : 'a number'}, got ${show(value)}`,
        );
        return undefined;
      }
      if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
        problems.push(`${where}: ${n} is outside ${f.min ?? '-∞'}..${f.max ?? '∞'}`);
        return undefined;
      }
      return n;
    }
    case 'bool':
      if (typeof text === 'boolean') return text;
      if (text === 'true' || text === '1' || text === 'yes') return true;
      if (text === 'false' || text === '0' || text === 'no') return false;
      problems.push(`${where}: expected true or false, got ${show(value)}`);
      return undefined;
    case 'level':
      if (text === 'debug' || text === 'info' || text === 'warn' || text === 'error') return text;
      problems.push(`${where}: expected debug, info, warn or error, got ${show(value)}`);
      return undefined;
    case 'loadSource':
      if (text === 'host' || text === 'osmosis') return text;
      problems.push(`${where}: expected host or osmosis, got ${show(value)}`);
      return undefined;
    case 'hostport': {
      if (typeof text !== 'string') {
        problems.push(`${where}: expected host:port, got ${show(value)}`);
        return undefined;
      }
      const hp = parseHostPort(text);
      if (typeof hp === 'string') {
        problems.push(`${where}: ${hp}`);
        return undefined;
      }
      return hp;
    }
    case 'priorities': {
      const table = parseClusterPriorities(text);
      if (typeof table === 'string') {
        problems.push(`${where}: ${table}`);
        return undefined;
      }
      return table;
    }
    case 'hostports': {
      const items = Array.isArray(text)
        ? text
        : typeof text === 'string'
          ? text
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '')
          : undefined;
      if (items === undefined) {
        problems.push(`${where}: expected a list of host:port, got ${show(value)}`);
        return undefined;
      }
      const out: HostPort[] = [];
      for (const item of items) {
        const hp =
          typeof item === 'string' ? parseHostPort(item) : `expected host:port, got ${show(item)}`;
        if (typeof hp === 'string') problems.push(`${where}: ${hp}`);
        else out.push(hp);
      }
      return out;
    }
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value));
}

function errnoText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
}

function suggest(key: string, known: Set<string>): string {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  for (const k of known) if (k.toLowerCase() === lower) return ` (did you mean "${k}"?)`;
  return '';
}

/** True if `path` is a directory (used for stateDir checks at start-up). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
