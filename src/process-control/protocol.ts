/**
 * The per-process control protocol (docs/process-control.md): JSON lines over a Unix socket, one
 * request → one response, matched by `id`; responses may come out of order (a long `freeze` does
 * not hold up an `info` on the same connection).
 *
 * ```
 * request   {"v":1,"id":7,"op":"checkpoint","args":{"file":"/abs/path.osmo"}}
 * response  {"v":1,"id":7,"ok":true,"result":{"file":"/abs/path.osmo","bytes":4096,"ms":3}}
 *           {"v":1,"id":7,"ok":false,"error":{"code":"E_SNAPSHOT_WRITE","message":"…"}}
 * ```
 * Same shape as the daemon's control API (src/daemon/control-protocol.ts) so one client style
 * serves both; its own op table and limits because a process answers different questions.
 * Versioned (`v`); unknown fields are ignored; unknown ops are answered with an error. The codec
 * is pure; server.ts and client.ts add the sockets.
 */
import { isQueueLength } from '../balance/consent.js';
import { fromBase64 } from '../core/base64.js';
import type { ErrorCode, SerializedError } from '../core/errors.js';
import { NAME_RE } from '../core/labels.js';
import { envelopeError as bad, isRecord, parseRequestEnvelope } from '../protocol/json-lines.js';
import { payloadArgs, payloadBytesIn } from '../protocol/line-payloads.js';
import { PROCESS_STATES } from './types.js';
import type { DeliverResult, ImageResult, MigrateResult, ProcessInfo } from './types.js';

export const PROCESS_CONTROL_VERSION = 1;
/**
 * Requests are small (an op and maybe a path) but for `deliver`, which carries a mailbox message
 * (at most 256 KiB, in base64); anything near this is garbage or hostile.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** A response carries the command line, which may be long (ARG_MAX is 2 MiB on Linux). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** PATH_MAX on Linux. */
export const MAX_PATH_BYTES = 4096;

/** Append only: clients of an older version must keep working. */
export const PROCESS_OPS = [
  'info',
  'checkpoint',
  'freeze',
  'continue',
  'migrate',
  'deliver',
] as const;
export type ProcessOp = (typeof PROCESS_OPS)[number];

export interface ProcessOpResults {
  info: ProcessInfo;
  checkpoint: ImageResult;
  freeze: ImageResult;
  continue: null;
  migrate: MigrateResult;
  deliver: DeliverResult;
}

export type ProcessRequest =
  | { readonly id: number; readonly op: 'info' }
  | { readonly id: number; readonly op: 'checkpoint'; readonly file?: string }
  | { readonly id: number; readonly op: 'freeze' }
  | { readonly id: number; readonly op: 'continue' }
  /**
   * `to`: a node name, or "home". `expectedQueue`: set by a home's balancer for a load or speed
   * move — the processes it counted on at `to`, which refuses if more run there now.
   */
  | {
      readonly id: number;
      readonly op: 'migrate';
      readonly to: string;
      readonly expectedQueue?: number;
    }
  /**
   * A mailbox message from process `fromPid` of home `fromHome` (ADR 0021). `raw`: the payload
   * follows the line as itself ({@link encodeRequest}), for a process that said it takes that.
   */
  | {
      readonly id: number;
      readonly op: 'deliver';
      readonly fromHome: string;
      readonly fromPid: number;
      readonly payload: Buffer;
      readonly raw?: boolean;
    };

export type ProcessResponse =
  | { readonly v: number; readonly id: number; readonly ok: true; readonly result: unknown }
  | {
      readonly v: number;
      readonly id: number;
      readonly ok: false;
      readonly error: SerializedError;
    };

/**
 * The request's line; a raw `deliver` is this line followed by its payload's bytes (the caller
 * writes both, in order, on the same connection).
 */
export function encodeRequest(request: ProcessRequest): string {
  const { id, op } = request;
  const args =
    request.op === 'checkpoint' && request.file !== undefined
      ? { file: request.file }
      : request.op === 'deliver'
        ? {
            fromHome: request.fromHome,
            fromPid: request.fromPid,
            ...payloadArgs(request.payload, request.raw === true),
          }
        : request.op === 'migrate'
          ? {
              to: request.to,
              ...(request.expectedQueue !== undefined && { expectedQueue: request.expectedQueue }),
            }
          : undefined;
  return (
    JSON.stringify(
      args === undefined
        ? { v: PROCESS_CONTROL_VERSION, id, op }
        : { v: PROCESS_CONTROL_VERSION, id, op, args },
    ) + '\n'
  );
}

export function encodeResponse(response: ProcessResponse): string {
  return JSON.stringify(response) + '\n';
}

export function okResponse(id: number, result: unknown): ProcessResponse {
  return { v: PROCESS_CONTROL_VERSION, id, ok: true, result };
}

export function errorResponse(id: number, error: SerializedError): ProcessResponse {
  return { v: PROCESS_CONTROL_VERSION, id, ok: false, error };
}

export type ParsedRequest =
  | { readonly ok: true; readonly request: ProcessRequest }
  | { readonly ok: false; readonly id: number; readonly error: SerializedError };

/** How many raw bytes follow a request line: a raw `deliver`'s (line-payloads.ts). */
export const requestPayloadBytes = payloadBytesIn(['deliver']);

/**
 * Validates one request line, with the raw bytes that followed it (a raw `deliver`); a failure
 * carries the answer to send back.
 */
export function parseRequest(line: string, payload?: Buffer): ParsedRequest {
  const envelope = parseRequestEnvelope(line, {
    version: PROCESS_CONTROL_VERSION,
    versionMismatch: (got) =>
      `process control protocol version ${JSON.stringify(got) ?? 'missing'}; this process speaks ${PROCESS_CONTROL_VERSION}`,
  });
  if (!envelope.ok) return envelope;
  const { id, op, value } = envelope;
  if (!(PROCESS_OPS as readonly string[]).includes(op)) {
    return bad(
      id,
      'E_USAGE',
      `unknown op "${op.slice(0, 64)}"; this process knows ${PROCESS_OPS.join(', ')}`,
    );
  }
  const args = isRecord(value.args) ? value.args : {};
  if (op === 'deliver') {
    const message = parseMessage(args, payload);
    if (typeof message === 'string') return bad(id, 'E_USAGE', `deliver: ${message}`);
    return { ok: true, request: { id, op, ...message } };
  }
  if (op === 'migrate') {
    const to = args.to;
    if (typeof to !== 'string' || !NAME_RE.test(to)) {
      return bad(id, 'E_USAGE', 'migrate "to" must be a node name or "home"');
    }
    const expectedQueue = args.expectedQueue;
    if (expectedQueue === undefined) return { ok: true, request: { id, op, to } };
    if (!isQueueLength(expectedQueue)) {
      return bad(id, 'E_USAGE', 'migrate "expectedQueue" must be a number ≥ 0');
    }
    return { ok: true, request: { id, op, to, expectedQueue } };
  }
  if (op !== 'checkpoint') return { ok: true, request: { id, op: op as 'info' } };
  const file = args.file;
  if (file === undefined || file === null) return { ok: true, request: { id, op } };
  if (typeof file !== 'string' || file === '' || file.includes('\0')) {
    return bad(id, 'E_USAGE', 'checkpoint "file" must be a non-empty path');
  }
  // The process has its own cwd: a relative path would land somewhere the user did not mean.
  if (!file.startsWith('/')) {
    return bad(id, 'E_USAGE', `checkpoint file ${file} must be an absolute path`);
  }
  if (Buffer.byteLength(file) > MAX_PATH_BYTES) {
    return bad(id, 'E_USAGE', `checkpoint file path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  return { ok: true, request: { id, op, file } };
}

/**
 * A mailbox message's fields as they travel (`fromHome`, `fromPid`, and either `data` in base64
 * or `dataBytes` with the bytes that came after the request as `raw`), checked; the problem as a
 * string otherwise. Shared with the daemons' requests, which carry the same.
 */
export function parseMessage(
  args: Record<string, unknown>,
  raw?: Buffer,
): { fromHome: string; fromPid: number; payload: Buffer } | string {
  const { fromHome, fromPid, data } = args;
  if (typeof fromHome !== 'string' || !NAME_RE.test(fromHome))
    return '"fromHome" must be a node name';
  if (typeof fromPid !== 'number' || !Number.isSafeInteger(fromPid) || fromPid <= 0)
    return '"fromPid" must be a pid';
  if (raw !== undefined) {
    // The decoder took exactly dataBytes after the line; a "data" beside it is a confused peer.
    if (data !== undefined) return 'a message has "data" or "dataBytes", not both';
    return { fromHome, fromPid, payload: raw };
  }
  if (args.dataBytes !== undefined) return '"dataBytes" must be a count of bytes that follow';
  const payload = typeof data === 'string' ? fromBase64(data) : undefined;
  if (payload === undefined) return '"data" must be base64';
  return { fromHome, fromPid, payload };
}

/** Checks a `deliver` answer. */
export function parseDeliverResult(value: unknown): DeliverResult | undefined {
  return isRecord(value) && isCount(value.queuedBytes)
    ? { queuedBytes: value.queuedBytes }
    : undefined;
}

/** A well-formed response, or undefined (the client then treats the peer as broken). */
export function parseResponse(line: string): ProcessResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.id !== 'number' || typeof value.v !== 'number') {
    return undefined;
  }
  if (value.ok === true && 'result' in value) {
    return { v: value.v, id: value.id, ok: true, result: value.result };
  }
  const e = value.error;
  if (
    value.ok === false &&
    isRecord(e) &&
    typeof e.code === 'string' &&
    typeof e.message === 'string'
  ) {
    const error: SerializedError = isRecord(e.details)
      ? { code: e.code as ErrorCode, message: e.message, details: e.details }
      : { code: e.code as ErrorCode, message: e.message };
    return { v: value.v, id: value.id, ok: false, error };
  }
  return undefined;
}

/** Checks a ProcessInfo from the wire so that a confused peer cannot crash `osmo ps`. */
export function parseProcessInfo(value: unknown): ProcessInfo | undefined {
  if (!isRecord(value)) return undefined;
  const v = value;
  if (
    !isCount(v.pid) ||
    typeof v.home !== 'string' ||
    typeof v.where !== 'string' ||
    !(PROCESS_STATES as readonly unknown[]).includes(v.state) ||
    !isCount(v.cpuTimeMs) ||
    !isCount(v.memoryBytes) ||
    typeof v.startedAt !== 'string' ||
    !Array.isArray(v.command) ||
    !v.command.every((a) => typeof a === 'string') ||
    typeof v.preemptible !== 'boolean' ||
    (v.checkpointFile !== undefined && typeof v.checkpointFile !== 'string')
  ) {
    return undefined;
  }
  const info: ProcessInfo = {
    pid: v.pid,
    home: v.home,
    where: v.where,
    state: v.state as ProcessInfo['state'],
    cpuTimeMs: v.cpuTimeMs,
    memoryBytes: v.memoryBytes,
    startedAt: v.startedAt,
    command: v.command,
    preemptible: v.preemptible,
  };
  if (typeof v.checkpointFile === 'string') info.checkpointFile = v.checkpointFile;
  if (typeof v.job === 'string') info.job = v.job;
  if (v.native === true) info.native = true;
  // The profile the balancer reads (optional: older deputies do not send it).
  if (typeof v.since === 'string') info.since = v.since;
  if (typeof v.movable === 'boolean') info.movable = v.movable;
  if (isCount(v.memoryNeedBytes)) info.memoryNeedBytes = v.memoryNeedBytes;
  if (isCount(v.migrations)) info.migrations = v.migrations;
  if (typeof v.cameFrom === 'string') info.cameFrom = v.cameFrom;
  if (isCount(v.syscalls)) info.syscalls = v.syscalls;
  if (isCount(v.awayCpuTimeMs)) info.awayCpuTimeMs = v.awayCpuTimeMs;
  if (isCount(v.awayHomeWaitMs)) info.awayHomeWaitMs = v.awayHomeWaitMs;
  if (isCount(v.ioBytes)) info.ioBytes = v.ioBytes;
  const lastMove = parseMigrateResult(v.lastMove);
  if (lastMove !== undefined) info.lastMove = lastMove;
  return info;
}

export function parseImageResult(value: unknown): ImageResult | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.file !== 'string' || !isCount(value.bytes) || !isCount(value.ms)) {
    return undefined;
  }
  return { file: value.file, bytes: value.bytes, ms: value.ms };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

export function parseMigrateResult(value: unknown): MigrateResult | undefined {
  if (!isRecord(value)) return undefined;
  if (
    typeof value.from !== 'string' ||
    typeof value.to !== 'string' ||
    !isCount(value.ms) ||
    !isCount(value.imageBytes) ||
    (value.transferMs !== undefined && !isCount(value.transferMs))
  ) {
    return undefined;
  }
  return {
    from: value.from,
    to: value.to,
    ms: value.ms,
    imageBytes: value.imageBytes,
    ...(value.transferMs === undefined ? {} : { transferMs: value.transferMs }),
  };
}
