/**
 * Mutual authentication of a link: a pure codec, no sockets (see docs/adr/0008-link.md).
 *
 * Both sides send HELLO at once, raw (before any frame, so a wrong port is told by its first
 * bytes):
 *
 * ```
 * magic    4 bytes  "OSLK"
 * version  u8       1
 * role     u8       1 client (connected), 2 server (accepted)
 * nonce    32 bytes random, fresh per connection
 * ```
 *
 * Then each sends PROOF as the first frame (type {@link LINK_PROOF_TYPE}, 32-byte payload):
 *
 * ```
 * HMAC-SHA256(key, "osmosis link proof" ‖ role of the prover ‖ prover's nonce ‖ other side's nonce)
 * ```
 *
 * A proof covers the verifier's fresh nonce (no replay from another connection) and the
 * prover's role, so a proof reflected back to its author (an attacker relaying a server's
 * proof to the server as if it were a client's) does not verify.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { OsmoError } from '../core/errors.js';

export const LINK_MAGIC = Buffer.from('OSLK', 'latin1');
export const LINK_VERSION = 1;
export const NONCE_BYTES = 32;
export const HELLO_BYTES = LINK_MAGIC.length + 2 + NONCE_BYTES;
export const PROOF_BYTES = 32;
/** Frame type of PROOF; 0..7 are the link's own types (see connection.ts). */
export const LINK_PROOF_TYPE = 1;

export type LinkRole = 'client' | 'server';

const ROLE_CODE: Record<LinkRole, number> = { client: 1, server: 2 };
const PROOF_LABEL = Buffer.from('osmosis link proof', 'latin1');

export interface Hello {
  readonly version: number;
  readonly role: LinkRole;
  readonly nonce: Buffer;
}

/**
 * The link key for one purpose from a secret: HKDF-SHA256, salt "osmosis/link", info
 * "osmosis link v1 <purpose>", 32 bytes. Distinct purposes ("control", "syscall", …) give
 * unrelated keys from one cluster secret; a per-migration token is a secret of its own.
 */
export function deriveLinkKey(secret: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'osmosis/link', `osmosis link v1 ${purpose}`, 32));
}

export function encodeHello(role: LinkRole, nonce: Uint8Array): Buffer {
  if (nonce.length !== NONCE_BYTES) {
    throw new OsmoError('E_INTERNAL', `a link nonce has ${NONCE_BYTES} bytes, not ${nonce.length}`);
  }
  const out = Buffer.allocUnsafe(HELLO_BYTES);
  LINK_MAGIC.copy(out, 0);
  out[4] = LINK_VERSION;
  out[5] = ROLE_CODE[role];
  out.set(nonce, 6);
  return out;
}

/**
 * False as soon as the first bytes received cannot start a HELLO, so a stranger is turned away
 * without waiting for 38 bytes it may never send.
 */
export function couldBeHello(prefix: Uint8Array): boolean {
  const n = Math.min(prefix.length, LINK_MAGIC.length);
  for (let i = 0; i < n; i++) if (prefix[i] !== LINK_MAGIC[i]) return false;
  return true;
}

/**
 * Parses the peer's HELLO (exactly {@link HELLO_BYTES}) and checks it comes from the other role.
 * `peer` names the remote end in error messages.
 */
export function decodeHello(bytes: Uint8Array, expectedRole: LinkRole, peer: string): Hello {
  if (bytes.length !== HELLO_BYTES || !couldBeHello(bytes)) throw notALinkError(peer, bytes);
  const version = bytes[4]!;
  if (version !== LINK_VERSION) {
    throw new OsmoError(
      'E_PROTO_VERSION',
      `${peer} speaks link protocol version ${version}; this node speaks ${LINK_VERSION}: ` +
        'run the same Osmosis release on both nodes',
      { details: { peer, version } },
    );
  }
  const roleCode = bytes[5];
  const role: LinkRole | undefined =
    roleCode === ROLE_CODE.client ? 'client' : roleCode === ROLE_CODE.server ? 'server' : undefined;
  if (role === undefined) {
    throw new OsmoError(
      'E_PROTO_DECODE',
      `${peer} sent a link HELLO with unknown role ${roleCode}`,
    );
  }
  if (role !== expectedRole) {
    throw new OsmoError(
      'E_PROTO_DECODE',
      `${peer} announced itself as link ${role} but the ${expectedRole} was expected ` +
        '(both ends connected to each other, or a HELLO was reflected)',
    );
  }
  return { version, role, nonce: Buffer.from(bytes.subarray(6, HELLO_BYTES)) };
}

/** The proof the side with `proverRole` sends: binds the key, its role and both nonces. */
export function computeProof(
  key: Uint8Array,
  proverRole: LinkRole,
  proverNonce: Uint8Array,
  verifierNonce: Uint8Array,
): Buffer {
  return createHmac('sha256', key)
    .update(PROOF_LABEL)
    .update(Buffer.of(ROLE_CODE[proverRole]))
    .update(proverNonce)
    .update(verifierNonce)
    .digest();
}

/** Constant-time check of a proof received from the side with `proverRole`. */
export function verifyProof(
  key: Uint8Array,
  proverRole: LinkRole,
  proverNonce: Uint8Array,
  verifierNonce: Uint8Array,
  proof: Uint8Array,
): boolean {
  if (proof.length !== PROOF_BYTES) return false;
  return timingSafeEqual(computeProof(key, proverRole, proverNonce, verifierNonce), proof);
}

/** {@link verifyProof}, throwing E_AUTH that names the peer when the proof is wrong. */
export function checkProof(
  key: Uint8Array,
  proverRole: LinkRole,
  proverNonce: Uint8Array,
  verifierNonce: Uint8Array,
  proof: Uint8Array,
  peer: string,
): void {
  if (!verifyProof(key, proverRole, proverNonce, verifierNonce, proof)) {
    throw authError(peer);
  }
}

/**
 * What to say when the first bytes from `peer` are not a HELLO. TLS records start with 0x16
 * (handshake) or 0x15 (alert): then the likely mistake is TLS on one end only.
 */
export function notALinkError(peer: string, firstBytes: Uint8Array): OsmoError {
  const first = firstBytes[0];
  const hint =
    first === 0x16 || first === 0x15
      ? 'it speaks TLS: enable tls on both ends or on neither'
      : 'its first bytes are not "OSLK"';
  return new OsmoError('E_PROTO_DECODE', `${peer} is not an Osmosis link (wrong port?): ${hint}`, {
    details: { peer },
  });
}

/** The one E_AUTH message of the link layer. */
export function authError(peer: string, cause?: unknown): OsmoError {
  return new OsmoError(
    'E_AUTH',
    `peer ${peer} failed authentication: wrong cluster secret or token`,
    cause === undefined ? { details: { peer } } : { cause, details: { peer } },
  );
}
