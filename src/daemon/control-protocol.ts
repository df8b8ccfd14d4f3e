/**
 * The control API between `osmo` client commands and their local daemon: JSON lines over a Unix
 * socket, one request → one response, matched by `id`.
 *
 * ```
 * request   {"v":1,"id":7,"op":"status"}
 * response  {"v":1,"id":7,"ok":true,"result":{…}}
 *           {"v":1,"id":7,"ok":false,"error":{"code":"E_USAGE","message":"unknown op \"x\""}}
 * ```
 * Versioned (`v`); unknown fields are ignored; unknown ops are answered with an error, never
 * dropped; a line longer than {@link MAX_LINE_BYTES} is an error and closes the connection.
 * The codec is pure; control-server.ts and control-client.ts add the sockets.
 */
import type { SerializedError } from '../core/errors.js';
import { envelopeError, parseRequestEnvelope } from '../protocol/json-lines.js';
import { payloadBytesIn } from '../protocol/line-payloads.js';
import type { TransportCounters } from '../platform/udp-transport.js';
import type { GossipStats } from '../gossip/types.js';
import type { DeliverResult, ProcessInfo } from '../process-control/types.js';

export const CONTROL_VERSION = 1;
export const MAX_LINE_BYTES = 1 << 20;

/** One node as `osmo status` and `osmo mon` show it. */
export interface NodeView {
  readonly id: number;
  readonly name: string;
  readonly cluster: string;
  /** host:port peers send to. */
  readonly address: string;
  readonly ageMs: number;
  /** Live (age ≤ maxAgeMs) or not heard from for longer (kept for `d` in mon). */
  readonly alive: boolean;
  readonly self: boolean;
  readonly speed: number;
  readonly cpus: number;
  /** Per-processor load in reference-processor units (see measure/load.ts). */
  readonly load: number;
  readonly totalMemBytes: number;
  readonly freeMemBytes: number;
  readonly totalSwapBytes: number;
  readonly freeSwapBytes: number;
  readonly guests: number;
  readonly flags: number;
  /** Human words for `flags`: accepting, blocked, draining, reserved. */
  readonly status: readonly string[];
}

export interface StatusResult {
  readonly node: string;
  readonly cluster: string;
  readonly maxAgeMs: number;
  readonly gossipIntervalMs: number;
  readonly uptimeMs: number;
  readonly nodes: readonly NodeView[];
  /** This home's programs the balancer watches, and its latest automatic migrations. */
  readonly homeProcesses?: number;
  readonly migrations?: readonly MigrationEvent[];
  /**
   * Bytes a second of the link between this node and each node it moved a large image to or
   * from (what its balancer charges a move); nodes not measured yet are not listed.
   */
  readonly linkBytesPerSec?: Readonly<Record<string, number>>;
  /**
   * The same per cluster (each cluster's nodes sit behind the same links): what a node of a
   * cluster is charged before a move to or from it measured its own link.
   */
  readonly clusterLinkBytesPerSec?: Readonly<Record<string, number>>;
}

export interface StatsResult {
  readonly node: string;
  readonly pid: number;
  readonly uptimeMs: number;
  readonly gossip: GossipStats;
  readonly transport: TransportCounters;
  /** Authentic datagrams whose payload was not a decodable window, by decoder reason. */
  readonly malformed: Readonly<Record<string, number>>;
  /** Windows this node cut to fit maxDatagramBytes (their youngest entries sent). */
  readonly windowsCut: number;
}

export interface PingResult {
  readonly node: string;
  readonly version: number;
}

/** A node's admission of a guest: where its deputy connects, with which token. */
export interface PlaceResult {
  readonly node: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly hasModule: boolean;
  /** Connect to the runner with TLS (the target's linkTls). */
  readonly tls: boolean;
}

export interface MailboxKeyResult {
  /** Sent with each `deliver`: this daemon knows by it whose messages they are. */
  readonly key: string;
}

export interface TicketResult {
  readonly ticket: string;
  /** Where its proof file goes (native-tickets.ts). */
  readonly dir: string;
}

export interface BestResult {
  /** The node to start on; the own node's name when no other is better enough. */
  readonly node: string;
  readonly self: boolean;
  /** Whether `node` has the memory asked for free (false: no live node has; absent: older daemon). */
  readonly roomy?: boolean;
  /**
   * The processes the choice counted on at `node`: the start asks with it, and `node` refuses
   * it when more run there by then (consent). Absent: an older daemon.
   */
  readonly expectedQueue?: number;
}

/** op → result type. Append only: clients of an older version must keep working. */
export interface ControlOps {
  ping: PingResult;
  status: StatusResult;
  stats: StatsResult;
  /**
   * args {node, pid, memoryBytes, moduleHash, expectedQueue?, job?, native?}: asks node to admit a
   * guest of this home (expectedQueue: an automatic move's view of node, see admission.ts).
   * native {program, cwd, path, proof} instead of a module: a native program (osmo run -E), run
   * there as the user who made the proof file for `ticket` proof (native-tickets.ts).
   */
  place: PlaceResult;
  /**
   * args {memoryBytes, refused?, native?}: the best node to start a program on, but for those in
   * refused (names of nodes that refused this program's start); native: true, only nodes that
   * run native programs (or this one).
   */
  best: BestResult;
  /**
   * args {pid, socket}: a program of this home, reachable on its process-control socket, for
   * the balancer to watch and move. Repeated while it runs (a restarted daemon learns it again).
   */
  adopt: AdoptResult;
  /** args {node, token}: gives up a place `place` got (the move failed before it got there). */
  withdraw: WithdrawResult;
  /**
   * args {uid?, cluster?}: the programs of this home (of user `uid` if given), as its balancer
   * last read them; with cluster: true, those of every live node's home too (osmo ps).
   */
  processes: ProcessesResult;
  /**
   * args {action: status | block | unblock | expel | bring | reserve | release, waitMs?, id?}:
   * node administration (osmo ctl, MOSIX's mosctl). expel blocks, asks each guest's home to move
   * it away and waits up to waitMs (default 60 000) for them to leave; bring moves this home's
   * programs back here; reserve holds the node for work outside Osmosis under `id` (no guests,
   * those here expelled as by expel) until release of that id (or of "all").
   */
  admin: AdminResult;
  /**
   * A ticket for a native program's place: create dir/osmo-native-proof-TICKET, then `place`
   * with native.proof = the ticket; the file's owner is who the program runs as (native-tickets.ts).
   */
  ticket: TicketResult;
  /**
   * args {proof}: a mailbox key for the user who made the proof file of ticket `proof` — what
   * proves that user's messages to other homes afterwards (mailbox-relay.ts).
   */
  mailboxKey: MailboxKeyResult;
  /**
   * args {key, home, pid, fromPid, data}: a mailbox message (base64 `data`) from this home's
   * process fromPid to process pid of home `home` (ADR 0021); sent on to that home's daemon.
   */
  deliver: DeliverResult;
}
export type ControlOp = keyof ControlOps;
export const CONTROL_OPS: readonly ControlOp[] = [
  'ping',
  'status',
  'stats',
  'place',
  'best',
  'adopt',
  'withdraw',
  'processes',
  'admin',
  'ticket',
  'mailboxKey',
  'deliver',
];

export const ADMIN_ACTIONS = [
  'status',
  'block',
  'unblock',
  'expel',
  'bring',
  'reserve',
  'release',
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** One guest asked to leave: where its home sends it, or why it could not be asked. */
export interface ExpelOutcome {
  readonly home: string;
  readonly pid: number;
  readonly to?: string;
  readonly error?: string;
}

export interface AdminResult {
  readonly node: string;
  readonly action: AdminAction;
  /** Whether this node refuses new guests now (osmo ctl block). */
  readonly blocked: boolean;
  /** The reservations holding this node for other work (status, reserve, release). */
  readonly reservations?: readonly { id: string; since: number }[];
  /** release: the ids released (none: nothing held under that id). */
  readonly released?: readonly string[];
  /** expel, reserve: each guest, and where its home sends it (or why it could not ask). */
  readonly expelled?: readonly ExpelOutcome[];
  /** expel, reserve: guests still here when the wait ended. */
  readonly remaining?: number;
  /** bring: each program of this home that ran elsewhere, and how its move ended ('ok'). */
  readonly brought?: readonly { pid: number; from: string; result: string }[];
  /** status: the guests here (running, or admitted and on their way). */
  readonly guests?: readonly {
    home: string;
    pid: number;
    running: boolean;
    job?: string;
    /** A native program (osmo run -E): never moves. */
    native?: boolean;
  }[];
  /** status: the ranks this node gives other clusters (empty: all ranked with its own). */
  readonly clusterPriorities?: Readonly<Record<string, number | 'block'>>;
  /** status: flood control's limit on this home's programs running here (0: none). */
  readonly maxLocalProcesses?: number;
}

export interface ProcessesResult {
  /** The node that answered. */
  readonly node: string;
  /** Each with `home` set to its home node's name. */
  readonly processes: readonly ProcessInfo[];
  /** Live nodes that did not answer in time (cluster: true only). */
  readonly unanswered: readonly string[];
}

export interface WithdrawResult {
  /** Whether a runner was still waiting for that program (it is freed). */
  readonly freed: boolean;
}

export interface AdoptResult {
  /** Whether this daemon moves programs by itself (config `balance`). */
  readonly balancing: boolean;
  /** Say `adopt` again within this many ms, or be forgotten. */
  readonly renewMs: number;
}

/** An automatic migration, as `osmo status --json` and `osmo mon` show the flow. */
export interface MigrationEvent {
  /** ms since the daemon started. */
  readonly atMs: number;
  readonly pid: number;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  /** ok, or why it failed. */
  readonly result: string;
}

export interface ControlRequest {
  readonly v: number;
  readonly id: number;
  readonly op: string;
  readonly args?: Record<string, unknown>;
  /** The raw bytes after the line, for an op that may have them (`deliver`, `dataBytes`). */
  readonly payload?: Buffer;
}

/** How many raw bytes follow a request line (protocol/line-payloads.ts): a `deliver`'s. */
export const controlPayloadBytes = payloadBytesIn(['deliver']);

export type ControlResponse =
  | { readonly v: number; readonly id: number; readonly ok: true; readonly result: unknown }
  | {
      readonly v: number;
      readonly id: number;
      readonly ok: false;
      readonly error: SerializedError;
    };

export function encodeLine(value: ControlRequest | ControlResponse): string {
  return JSON.stringify(value) + '\n';
}

export type ParsedRequest =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly id: number; readonly error: SerializedError };

/** Validates one request line; the failure carries the answer to send back. */
export function parseRequest(line: string, payload?: Buffer): ParsedRequest {
  const envelope = parseRequestEnvelope(line, {
    version: CONTROL_VERSION,
    versionMismatch: (got) =>
      `control protocol version ${JSON.stringify(got)}; this daemon speaks ${CONTROL_VERSION}`,
  });
  if (!envelope.ok) return envelope;
  const { id, value: r } = envelope;
  const op = envelope.op;
  if (!(CONTROL_OPS as readonly string[]).includes(op)) {
    return bad(id, 'E_USAGE', `unknown op "${op}"; this daemon knows ${CONTROL_OPS.join(', ')}`);
  }
  const args =
    typeof r.args === 'object' && r.args !== null ? (r.args as Record<string, unknown>) : undefined;
  return {
    ok: true,
    request: {
      v: CONTROL_VERSION,
      id,
      op,
      ...(args !== undefined && { args }),
      ...(payload !== undefined && { payload }),
    },
  };
}

const bad = envelopeError;

export function parseResponse(line: string): ControlResponse | undefined {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (typeof value !== 'object' || value === null || typeof value.id !== 'number')
      return undefined;
    if (value.ok === true) return value as unknown as ControlResponse;
    const e = value.error as Record<string, unknown> | undefined;
    if (value.ok === false && typeof e?.code === 'string' && typeof e.message === 'string')
      return value as unknown as ControlResponse;
    return undefined;
  } catch {
    return undefined;
  }
}
