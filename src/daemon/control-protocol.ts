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
import type { TransportCounters } from '../platform/udp-transport.js';
import type { GossipStats } from '../gossip/types.js';

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
}

export interface StatsResult {
  readonly node: string;
  readonly pid: number;
  readonly uptimeMs: number;
  readonly gossip: GossipStats;
  readonly transport: TransportCounters;
  /** Authentic datagrams whose payload was not a decodable window, by decoder reason. */
  readonly malformed: Readonly<Record<string, number>>;
}

export interface PingResult {
  readonly node: string;
  readonly version: number;
}

/** op → result type. Append only: clients of an older version must keep working. */
export interface ControlOps {
  ping: PingResult;
  status: StatusResult;
  stats: StatsResult;
}
export type ControlOp = keyof ControlOps;
export const CONTROL_OPS: readonly ControlOp[] = ['ping', 'status', 'stats'];

export interface ControlRequest {
  readonly v: number;
  readonly id: number;
  readonly op: string;
  readonly args?: Record<string, unknown>;
}

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
export function parseRequest(line: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return bad(0, 'E_PROTO_DECODE', 'request is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad(0, 'E_PROTO_DECODE', 'request must be a JSON object');
  }
  const r = value as Record<string, unknown>;
  const id = typeof r.id === 'number' && Number.isSafeInteger(r.id) ? r.id : 0;
  if (r.v !== CONTROL_VERSION) {
    return bad(
      id,
      'E_PROTO_VERSION',
      `control protocol version ${JSON.stringify(r.v)}; this daemon speaks ${CONTROL_VERSION}`,
    );
  }
  if (typeof r.op !== 'string') return bad(id, 'E_PROTO_DECODE', 'request has no "op" string');
  if (!(CONTROL_OPS as readonly string[]).includes(r.op)) {
    return bad(id, 'E_USAGE', `unknown op "${r.op}"; this daemon knows ${CONTROL_OPS.join(', ')}`);
  }
  const args =
    typeof r.args === 'object' && r.args !== null ? (r.args as Record<string, unknown>) : undefined;
  return {
    ok: true,
    request:
      args === undefined
        ? { v: CONTROL_VERSION, id, op: r.op }
        : { v: CONTROL_VERSION, id, op: r.op, args },
  };
}

function bad(id: number, code: SerializedError['code'], message: string): ParsedRequest {
  return { ok: false, id, error: { code, message } };
}

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

/**
 * Splits a byte stream into lines, enforcing {@link MAX_LINE_BYTES}. Feed chunks; get complete
 * lines; `overflow` turns true (and stays) once a line grew past the limit.
 */
export class LineSplitter {
  private pending = '';
  overflow = false;

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: string): string[] {
    if (this.overflow) return [];
    this.pending += chunk;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > this.maxBytes || lines.some((l) => l.length > this.maxBytes)) {
      this.overflow = true;
      return [];
    }
    return lines.filter((l) => l.trim() !== '');
  }
}
