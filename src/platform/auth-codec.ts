/**
 * Authentication and replay protection of gossip datagrams: a pure codec around the window bytes
 * of `gossip/codec.ts`, as that file's header reserves. No sockets here, so every rejection path
 * is unit-tested byte by byte.
 *
 * ```
 * magic     2 bytes  0x4f 0x41 ("OA")
 * version   u8       1
 * flags     u8       reserved, 0 (unknown bits ignored)
 * keyId     u32 BE   first 4 bytes of HMAC(key, "osmosis key id"): says which key sealed it
 * senderId  u32 BE   the sender's node id (replay state is kept per sender)
 * epoch     u32 BE   the sender's incarnation; strictly increases across restarts
 * seq       u32 BE   per-epoch counter, strictly increasing per datagram
 * tag       32 bytes HMAC-SHA256(key, bytes 0..19 ‖ payload)
 * payload   …        a gossip window
 * ```
 *
 * The key is HKDF-SHA256(cluster secret, salt "osmosis/gossip", info "osmosis gossip v1"). It
 * does not depend on the cluster name: nodes of different clusters of one cloud share a secret
 * and still gossip (MOSIX biases, it does not forbid, cross-cluster targets). See
 * docs/adr/0004-daemon-gossip-wire-and-auth.md.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const AUTH_MAGIC = 0x4f41;
export const AUTH_VERSION = 1;
/** Bytes before the tag (covered by the MAC). */
export const AUTH_PREFIX_BYTES = 20;
export const AUTH_TAG_BYTES = 32;
export const AUTH_HEADER_BYTES = AUTH_PREFIX_BYTES + AUTH_TAG_BYTES;

export interface AuthKey {
  readonly id: number;
  readonly key: Buffer;
}

/** Derives the datagram key from the cluster secret (the bytes of the secret file, trimmed). */
export function deriveAuthKey(secret: Uint8Array): AuthKey {
  const key = Buffer.from(hkdfSync('sha256', secret, 'osmosis/gossip', 'osmosis gossip v1', 32));
  const id = createHmac('sha256', key).update('osmosis key id').digest().readUInt32BE(0);
  return { id, key };
}

export interface SealHeader {
  readonly senderId: number;
  readonly epoch: number;
  readonly seq: number;
}

export function sealDatagram(key: AuthKey, header: SealHeader, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(AUTH_HEADER_BYTES + payload.length);
  out.writeUInt16BE(AUTH_MAGIC, 0);
  out.writeUInt8(AUTH_VERSION, 2);
  out.writeUInt8(0, 3);
  out.writeUInt32BE(key.id >>> 0, 4);
  out.writeUInt32BE(header.senderId >>> 0, 8);
  out.writeUInt32BE(header.epoch >>> 0, 12);
  out.writeUInt32BE(header.seq >>> 0, 16);
  out.set(payload, AUTH_HEADER_BYTES);
  const tag = createHmac('sha256', key.key)
    .update(out.subarray(0, AUTH_PREFIX_BYTES))
    .update(payload)
    .digest();
  tag.copy(out, AUTH_PREFIX_BYTES);
  return out;
}

/** Why a datagram was dropped; the daemon counts drops by these names. */
export type DropReason =
  | 'oversized'
  | 'truncated'
  | 'bad-magic'
  | 'bad-version'
  /** Sealed with a key we do not hold: almost always a wrong cluster secret. */
  | 'unknown-key'
  /** Our key id but a wrong tag: forged or corrupted. */
  | 'bad-mac'
  | 'replayed'
  /** Authentic, but the payload is not a window we can decode. */
  | 'malformed'
  /** Our own datagram (a broadcast looping back). */
  | 'own'
  /** The address to send to is not host:port (a bad peer entry). */
  | 'bad-address';

export const DROP_REASONS: readonly DropReason[] = [
  'oversized',
  'truncated',
  'bad-magic',
  'bad-version',
  'unknown-key',
  'bad-mac',
  'replayed',
  'malformed',
  'own',
  'bad-address',
];

export type OpenResult =
  | {
      readonly ok: true;
      readonly senderId: number;
      readonly epoch: number;
      readonly seq: number;
      readonly payload: Uint8Array;
    }
  | { readonly ok: false; readonly reason: DropReason };

/**
 * Verifies a datagram's envelope and tag. Does NOT check freshness: call
 * {@link ReplayGuard.accept} on success, so that forged datagrams never move the replay window.
 */
export function openDatagram(key: AuthKey, bytes: Uint8Array, maxBytes: number): OpenResult {
  if (bytes.length > maxBytes) return { ok: false, reason: 'oversized' };
  if (bytes.length < AUTH_HEADER_BYTES) return { ok: false, reason: 'truncated' };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.readUInt16BE(0) !== AUTH_MAGIC) return { ok: false, reason: 'bad-magic' };
  if (buf.readUInt8(2) !== AUTH_VERSION) return { ok: false, reason: 'bad-version' };
  if (buf.readUInt32BE(4) !== key.id >>> 0) return { ok: false, reason: 'unknown-key' };
  const payload = buf.subarray(AUTH_HEADER_BYTES);
  const expected = createHmac('sha256', key.key)
    .update(buf.subarray(0, AUTH_PREFIX_BYTES))
    .update(payload)
    .digest();
  if (!timingSafeEqual(expected, buf.subarray(AUTH_PREFIX_BYTES, AUTH_HEADER_BYTES))) {
    return { ok: false, reason: 'bad-mac' };
  }
  return {
    ok: true,
    senderId: buf.readUInt32BE(8),
    epoch: buf.readUInt32BE(12),
    seq: buf.readUInt32BE(16),
    payload,
  };
}

/** How far behind the newest counter a datagram may arrive (reordering) and still be accepted. */
export const REPLAY_WINDOW = 64;

interface SenderState {
  epoch: number;
  top: number;
  /** Bit i set: seq `top − i` was seen. */
  seen: bigint;
}

const WINDOW_MASK = (1n << BigInt(REPLAY_WINDOW)) - 1n;

/**
 * Per-sender sliding window over (epoch, seq), as IPsec's anti-replay window: a datagram is
 * fresh if its epoch is newer, or its seq is newer than any seen, or within the last
 * {@link REPLAY_WINDOW} and not seen yet. Bounded: the least recently heard sender is forgotten
 * past `maxSenders` (it can then replay into an empty window only datagrams it really sent).
 */
export class ReplayGuard {
  private readonly senders = new Map<number, SenderState>();

  constructor(private readonly maxSenders = 4096) {}

  /** True (and remembered) if fresh; false if replayed or from an older incarnation. */
  accept(senderId: number, epoch: number, seq: number): boolean {
    const state = this.senders.get(senderId);
    if (state === undefined || epoch > state.epoch) {
      this.remember(senderId, { epoch, top: seq, seen: 1n });
      return true;
    }
    if (epoch < state.epoch) return false;
    if (seq > state.top) {
      const shift = seq - state.top;
      state.seen = shift >= REPLAY_WINDOW ? 1n : ((state.seen << BigInt(shift)) | 1n) & WINDOW_MASK;
      state.top = seq;
      this.remember(senderId, state);
      return true;
    }
    const behind = state.top - seq;
    if (behind >= REPLAY_WINDOW) return false;
    const bit = 1n << BigInt(behind);
    if ((state.seen & bit) !== 0n) return false;
    state.seen |= bit;
    return true;
  }

  get size(): number {
    return this.senders.size;
  }

  private remember(senderId: number, state: SenderState): void {
    this.senders.delete(senderId);
    this.senders.set(senderId, state);
    if (this.senders.size > this.maxSenders) {
      const oldest = this.senders.keys().next().value;
      if (oldest !== undefined) this.senders.delete(oldest);
    }
  }
}

/** The sending side's counter: (epoch, seq), seq rolling over into the next epoch. */
export class SealCounter {
  constructor(
    private epoch: number,
    private seq = 0,
  ) {}

  next(): { epoch: number; seq: number } {
    if (this.seq >= 0xffffffff) {
      this.epoch = (this.epoch + 1) >>> 0;
      this.seq = 0;
    }
    this.seq++;
    return { epoch: this.epoch, seq: this.seq };
  }
}
