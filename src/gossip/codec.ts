/**
 * Wire format of a gossip window (version 1). Compact binary, little-endian floats, LEB128
 * varints; every decode is bounded by {@link DecodeLimits} and returns a result instead of
 * throwing.
 *
 * ```
 * magic        2 bytes   0x4f 0x47 ("OG")
 * version      u8        1
 * kind         u8        1 = window (other kinds are for future message types)
 * flags        u8        reserved, 0; decoders ignore unknown bits
 * ageOffsetMs  svarint   added by the receiver to every age (sender-side queueing time)
 * nStrings     uvarint   string table: clusters and addresses, each stored once
 *   string     uvarint length + UTF-8
 * nEntries     uvarint   ≥ 1; entry 0 is the sender itself at age 0
 *   id         uvarint   u32 node id
 *   ageMs      svarint   integer ms; negative ages are representable so the core can reject them
 *   cluster    uvarint   index into the string table
 *   address    uvarint   index into the string table
 *   cpus, speed                        uvarint
 *   load                               float32
 *   freeMem, totalMem, freeSwap, totalSwap (bytes), guests, flags   uvarint
 *   extLen     uvarint + bytes   per-entry extension, skipped by v1 decoders
 * extLen       uvarint + bytes   message extension, skipped by v1 decoders
 * (end: trailing bytes are an error)
 * ```
 *
 * Authentication and replay protection are NOT here: the UDP transport wraps these bytes as
 * `[key id | counter | HMAC tag | payload]` and must call {@link decodeWindow} only on a
 * payload whose tag verified and whose counter is fresh. Ages are rounded to whole ms on the wire.
 */
import { OsmoError } from '../core/errors.js';
import { ByteFault, ByteReader, ByteWriter } from './bytes.js';
import type { ByteFaultReason } from './bytes.js';
import { MAX_WINDOW_ENTRIES } from './config.js';
import { GOSSIP_VERSION } from './types.js';
import type { NodeInfo, NodeRecord, WindowMessage } from './types.js';

export const WINDOW_MAGIC = 0x4f47;
export const MESSAGE_KIND_WINDOW = 1;

export interface DecodeLimits {
  /** Largest accepted input; default 65 507 (largest UDP payload over IPv4). */
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly maxStrings: number;
  readonly maxStringBytes: number;
  readonly maxExtensionBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxBytes: 65_507,
  maxEntries: MAX_WINDOW_ENTRIES,
  maxStrings: 2 * MAX_WINDOW_ENTRIES,
  maxStringBytes: 255,
  maxExtensionBytes: 1024,
};

export type DecodeResult =
  | { readonly ok: true; readonly message: WindowMessage }
  | {
      readonly ok: false;
      /** E_PROTO_VERSION for a version we do not speak, E_PROTO_DECODE for everything else. */
      readonly code: 'E_PROTO_DECODE' | 'E_PROTO_VERSION';
      readonly reason: ByteFaultReason;
      /** Byte offset where decoding stopped. */
      readonly offset: number;
      readonly message: string;
    };

const U32_MAX = 0xffffffff;

export function encodeWindow(message: WindowMessage): Uint8Array {
  const { records, agesMs } = message;
  if (
    records.length === 0 ||
    records.length !== agesMs.length ||
    records.length > MAX_WINDOW_ENTRIES
  ) {
    throw new OsmoError(
      'E_INTERNAL',
      `cannot encode a window of ${records.length} records and ${agesMs.length} ages (1..${MAX_WINDOW_ENTRIES}, equal)`,
    );
  }
  const strings = new Map<string, number>();
  const indexOf = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) {
      i = strings.size;
      strings.set(s, i);
    }
    return i;
  };
  for (const r of records) {
    indexOf(r.cluster);
    indexOf(r.address);
  }
  const out = new ByteWriter();
  out.u8(WINDOW_MAGIC >> 8);
  out.u8(WINDOW_MAGIC & 0xff);
  out.u8(message.version);
  out.u8(MESSAGE_KIND_WINDOW);
  out.u8(0);
  out.svarint(Math.round(message.ageOffsetMs));
  out.uvarint(strings.size);
  for (const s of strings.keys()) out.utf8(s);
  out.uvarint(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    out.uvarint(r.id);
    out.svarint(Math.round(agesMs[i]!));
    out.uvarint(indexOf(r.cluster));
    out.uvarint(indexOf(r.address));
    encodeInfo(out, r.info);
    out.uvarint(0);
  }
  out.uvarint(0);
  return out.finish();
}

function encodeInfo(out: ByteWriter, info: NodeInfo): void {
  out.uvarint(info.cpus);
  out.uvarint(info.speed);
  out.f32(info.load);
  out.uvarint(info.freeMemBytes);
  out.uvarint(info.totalMemBytes);
  out.uvarint(info.freeSwapBytes);
  out.uvarint(info.totalSwapBytes);
  out.uvarint(info.guests);
  out.uvarint(info.flags);
}

export function decodeWindow(
  bytes: Uint8Array,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodeResult {
  if (bytes.length > limits.maxBytes) {
    return failure('too-large', 0, `window of ${bytes.length} bytes exceeds ${limits.maxBytes}`);
  }
  const input = new ByteReader(bytes);
  try {
    return { ok: true, message: readWindow(input, limits) };
  } catch (e) {
    if (e instanceof ByteFault) return failure(e.reason, e.offset, e.detail);
    // Only a bug in this file can get here; still answer with a code, never crash the daemon.
    return failure('bad-varint', input.offset, `internal decoder error: ${String(e)}`);
  }
}

/** Like {@link decodeWindow} but throws an {@link OsmoError} with the failure's code. */
export function decodeWindowOrThrow(bytes: Uint8Array, limits?: DecodeLimits): WindowMessage {
  const result = decodeWindow(bytes, limits);
  if (result.ok) return result.message;
  throw new OsmoError(result.code, `gossip window rejected: ${result.message}`, {
    details: { reason: result.reason, offset: result.offset },
  });
}

function failure(reason: ByteFaultReason, offset: number, detail: string): DecodeResult {
  return {
    ok: false,
    code: reason === 'unsupported-version' ? 'E_PROTO_VERSION' : 'E_PROTO_DECODE',
    reason,
    offset,
    message: `${detail} (at byte ${offset})`,
  };
}

function readWindow(input: ByteReader, limits: DecodeLimits): WindowMessage {
  if (input.u8() !== WINDOW_MAGIC >> 8 || input.u8() !== (WINDOW_MAGIC & 0xff)) {
    input.fail('bad-magic', 'not a gossip window (magic "OG" missing)');
  }
  const version = input.u8();
  if (version !== GOSSIP_VERSION) {
    input.fail(
      'unsupported-version',
      `gossip version ${version}; this node speaks ${GOSSIP_VERSION}`,
    );
  }
  const kind = input.u8();
  if (kind !== MESSAGE_KIND_WINDOW) input.fail('unknown-kind', `message kind ${kind}`);
  input.u8(); // flags: reserved, unknown bits ignored
  const ageOffsetMs = input.svarint();
  const nStrings = input.uvarintAtMost(limits.maxStrings, 'string count');
  const strings: string[] = [];
  for (let i = 0; i < nStrings; i++) strings.push(input.utf8(limits.maxStringBytes));
  const str = (): string => {
    const i = input.uvarint();
    const s = strings[i];
    if (s === undefined) input.fail('bad-index', `string index ${i} of ${strings.length}`);
    return s;
  };
  const nEntries = input.uvarintAtMost(limits.maxEntries, 'entry count');
  if (nEntries === 0) input.fail('empty-window', 'a window must carry the sender entry');
  const records: NodeRecord[] = [];
  const agesMs: number[] = [];
  for (let i = 0; i < nEntries; i++) {
    const id = input.uvarintAtMost(U32_MAX, 'node id');
    agesMs.push(input.svarint());
    const cluster = str();
    const address = str();
    const info = readInfo(input);
    input.skip(input.uvarintAtMost(limits.maxExtensionBytes, 'entry extension length'));
    records.push({ id, cluster, address, info });
  }
  input.skip(input.uvarintAtMost(limits.maxExtensionBytes, 'message extension length'));
  if (input.remaining !== 0)
    input.fail('trailing-bytes', `${input.remaining} bytes after the window`);
  return { version, ageOffsetMs, records, agesMs };
}

function readInfo(input: ByteReader): NodeInfo {
  const cpus = input.uvarintAtMost(U32_MAX, 'cpus');
  const speed = input.uvarintAtMost(U32_MAX, 'speed');
  const loadAt = input.offset;
  const load = input.f32();
  if (!Number.isFinite(load) || load < 0) {
    throw new ByteFault('bad-float', loadAt, `load ${load} must be a finite number ≥ 0`);
  }
  return {
    cpus,
    speed,
    load,
    freeMemBytes: input.uvarint(),
    totalMemBytes: input.uvarint(),
    freeSwapBytes: input.uvarint(),
    totalSwapBytes: input.uvarint(),
    guests: input.uvarintAtMost(U32_MAX, 'guests'),
    flags: input.uvarintAtMost(U32_MAX, 'flags'),
  };
}
