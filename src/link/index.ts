/**
 * Links: framed, mutually authenticated TCP connections between node daemons and between a
 * deputy and its guest's runner. See docs/adr/0008-link.md.
 */
export type { Frame } from './frames.js';
export {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_ENCODABLE_PAYLOAD,
  encodeFrame,
  encodeFrameHeader,
} from './frames.js';
export type { Hello, LinkRole } from './handshake.js';
export {
  HELLO_BYTES,
  LINK_MAGIC,
  LINK_VERSION,
  checkProof,
  computeProof,
  decodeHello,
  deriveLinkKey,
  encodeHello,
  verifyProof,
} from './handshake.js';
export type {
  LinkAcceptOptions,
  LinkConnectOptions,
  LinkKeyChoice,
  LinkOptions,
  LinkStats,
  LinkTimers,
} from './connection.js';
export {
  DEFAULT_LINK_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  FIRST_USER_FRAME_TYPE,
  LinkConnection,
  SEND_COPIES_UP_TO_BYTES,
  formatHostPort,
  systemLinkTimers,
} from './connection.js';
export type { LinkServerOptions } from './server.js';
export { LinkServer } from './server.js';
