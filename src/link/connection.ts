/**
 * A link: one TCP (optionally TLS-PSK) connection, mutually authenticated by handshake.ts and
 * carrying frames.ts frames in both directions. Node daemons talk to each other over links keyed
 * by the cluster secret; a deputy and its guest's runner over a link keyed by the migration's
 * token. See docs/adr/0008-link.md.
 *
 * The hot path is a system call round trip, so sending writes header and payload with one
 * `writev` (cork/uncork) or, for small payloads, one copy into one buffer; receiving hands out
 * views into the received chunk. Link-internal frame types (0..7) never reach the user:
 *
 * | type | meaning                                                              |
 * | ---- | -------------------------------------------------------------------- |
 * | 1    | PROOF (handshake only)                                                |
 * | 2    | HEARTBEAT, empty: sent when the link was idle for `heartbeatMs`      |
 * | 3    | GOODBYE, empty: the sender closes on purpose; its FIN follows         |
 * | 0,4-7| reserved; ignored when received so later versions may use them       |
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';
import type { Clock } from '../core/clock.js';
import { OsmoError, isOsmoError } from '../core/errors.js';
import type { Frame } from './frames.js';
import { FRAME_HEADER_BYTES, FrameDecoder, encodeFrame, encodeFrameHeader } from './frames.js';
import type { Hello, LinkRole } from './handshake.js';
import {
  HELLO_BYTES,
  LINK_PROOF_TYPE,
  NONCE_BYTES,
  PROOF_BYTES,
  authError,
  checkProof,
  computeProof,
  couldBeHello,
  decodeHello,
  encodeHello,
  notALinkError,
} from './handshake.js';

export const LINK_HEARTBEAT_TYPE = 2;
export const LINK_GOODBYE_TYPE = 3;
/** The lowest frame type a user of the link may send; lower ones belong to the link. */
export const FIRST_USER_FRAME_TYPE = 8;
export const DEFAULT_LINK_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** TLS-PSK identity; the PSK itself is the link key. */
export const TLS_PSK_IDENTITY = 'osmosis';
const TLS_CIPHERS = 'PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305';
/**
 * Payloads up to this size are copied next to their header (one small write beats writev): the
 * caller may change or reuse such a payload as soon as {@link LinkConnection.send} returns.
 */
export const SEND_COPIES_UP_TO_BYTES = 1024;

/**
 * Time for the heartbeat. The default reads `performance.now()` and unrefs its interval; a test
 * passes a fake to drive the heartbeat without sleeping.
 */
export interface LinkTimers extends Clock {
  /** Calls `fn` every `ms`; must not keep the process alive (unref). */
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemLinkTimers: LinkTimers = {
  now: () => performance.now(),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface LinkOptions {
  /** Deadline of the whole handshake (TCP, TLS, HELLO, PROOF), and of an orderly close. */
  timeoutMs?: number;
  /** Largest payload of one received frame (and of one sent frame). Default 64 MiB. */
  maxFrameBytes?: number;
  /**
   * Heartbeat period. When set, a HEARTBEAT is sent after `heartbeatMs` with nothing sent, and
   * the link is declared dead after 3 × `heartbeatMs` with nothing received. Both ends should
   * set it (to the same value): an end without it sends no heartbeats.
   */
  heartbeatMs?: number;
  /**
   * Asked when the peer has been silent for 3 × `heartbeatMs`, with the address the link is
   * connected to: true if the peer's host is up (host-probe.ts; the silence is then that of a
   * process alive but not running, and the link waits another 3 × `heartbeatMs` before asking
   * again), false to declare the link dead. Without it, silence is death.
   */
  peerHostUp?: (host: string, port: number) => Promise<boolean>;
  timers?: LinkTimers;
}

export interface LinkConnectOptions extends LinkOptions {
  host: string;
  port: number;
  key: Buffer;
  /** Wrap the link in TLS 1.2 with the key as pre-shared key (the server must agree). */
  tls?: boolean;
}

/**
 * The server's key: fixed, or chosen once the client's HELLO arrived (`undefined` refuses the
 * client with E_AUTH). With TLS the key must be fixed: TLS needs it before any HELLO.
 */
export type LinkKeyChoice = Buffer | ((hello: Hello, remote: string) => Buffer | undefined);

export interface LinkAcceptOptions extends LinkOptions {
  key: LinkKeyChoice;
  tls?: boolean;
}

export interface LinkStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Silences forgiven because the peer's host was up ({@link LinkOptions.peerHostUp}). */
  silencesExcused: number;
}

interface ResolvedOptions {
  timeoutMs: number;
  maxFrameBytes: number;
  heartbeatMs: number | undefined;
  peerHostUp: ((host: string, port: number) => Promise<boolean>) | undefined;
  timers: LinkTimers;
}

type FrameHandler = (type: number, payload: Buffer) => void;

export class LinkConnection {
  /** "host:port" of the other end. */
  readonly remote: string;
  /**
   * Settles once, when the link is over: `undefined` after an orderly {@link close} by either
   * end (or {@link destroy} without an error); otherwise the OsmoError that ended it — E_LINK for
   * a reset, a peer that vanished without GOODBYE, a framing error or heartbeat silence;
   * E_INTERNAL if the frame handler threw. Never rejects.
   */
  readonly closed: Promise<OsmoError | undefined>;

  private readonly socket: net.Socket;
  private readonly options: ResolvedOptions;
  private readonly decoder: FrameDecoder;
  private resolveClosed!: (reason: OsmoError | undefined) => void;
  private phase: 'open' | 'closing' | 'closed' = 'open';
  private reason: OsmoError | undefined;
  private handler: FrameHandler | undefined;
  private queue: { frame: Frame; startedMs: number }[] = [];
  /** When the chunk that began the frame the decoder holds in part arrived (performance.now). */
  private partialSince = 0;
  private deliveringStartedMs = 0;
  private peerSaidGoodbye = false;
  private heartbeat: unknown;
  private closeTimer: NodeJS.Timeout | undefined;
  private drainWait:
    { promise: Promise<void>; resolve: () => void; reject: (e: OsmoError) => void } | undefined;
  // Heartbeat bookkeeping: the hot path only sets flags; the heartbeat tick reads the clock.
  private sentSinceTick = false;
  /** The socket is corked until the current JS task ends (see {@link corkUntilTaskEnds}). */
  private corked = false;
  /** Reasons to leave the socket unread (pauseReadingUntil); read again when none is left. */
  private readingPausedBy = 0;
  private receivedSinceTick = false;
  private lastSentAt = 0;
  private lastReceivedAt = 0;
  /** When the heartbeat tick last ran: a late tick means this process was not running. */
  private lastTickAt = 0;
  private readonly counters: LinkStats = {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    silencesExcused: 0,
  };
  /** A {@link LinkOptions.peerHostUp} question is out: the silence is not judged twice. */
  private askingAboutSilence = false;

  private constructor(
    socket: net.Socket,
    remote: string,
    options: ResolvedOptions,
    leftover: Buffer,
  ) {
    this.socket = socket;
    this.remote = remote;
    this.options = options;
    this.decoder = new FrameDecoder(options.maxFrameBytes);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e: Error) => this.onError(e));
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.onDrain());
    if (options.heartbeatMs !== undefined) {
      const timers = options.timers;
      this.lastSentAt = this.lastReceivedAt = this.lastTickAt = timers.now();
      this.heartbeat = timers.setInterval(
        () => this.onHeartbeatTick(),
        Math.max(1, Math.floor(options.heartbeatMs / 2)),
      );
    }
    if (leftover.length > 0) this.onData(leftover);
  }

  /**
   * Connects to a link server and authenticates both ends. Resolves once the server proved it
   * holds `key`; rejects with E_LINK (unreachable, timeout, connection lost), E_AUTH (wrong key
   * on either end), E_PROTO_DECODE / E_PROTO_VERSION (not an Osmosis link, or another version).
   */
  static connect(o: LinkConnectOptions): Promise<LinkConnection> {
    const remote = formatHostPort(o.host, o.port);
    let options: ResolvedOptions;
    try {
      options = resolveOptions(o);
      if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
        throw new OsmoError('E_CONFIG', `cannot connect to ${remote}: the port must be 1..65535`);
      }
    } catch (e) {
      return Promise.reject(toOsmoError(e));
    }
    const socket = o.tls
      ? tls().connect({
          host: o.host,
          port: o.port,
          secureContext: tlsContext(),
          pskCallback: () => ({ identity: TLS_PSK_IDENTITY, psk: o.key }),
          checkServerIdentity: () => undefined,
        })
      : net.connect({ host: o.host, port: o.port });
    return LinkConnection.handshake({
      socket,
      role: 'client',
      remote,
      readyEvent: o.tls ? 'secureConnect' : 'connect',
      key: o.key,
      options,
    });
  }

  /**
   * Runs the server side of the handshake on an accepted socket. Resolves once the client proved
   * it holds the key; on failure the socket is closed and the promise rejects (as
   * {@link connect}). {@link LinkServer} does this for every incoming connection.
   */
  static accept(socket: net.Socket, o: LinkAcceptOptions): Promise<LinkConnection> {
    const remote = formatHostPort(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0);
    let options: ResolvedOptions;
    try {
      options = resolveOptions(o);
      if (o.tls && typeof o.key === 'function') {
        throw new OsmoError(
          'E_CONFIG',
          'a TLS link server needs a fixed key (TLS uses it before any HELLO); ' +
            'choose the key per client only without tls',
        );
      }
    } catch (e) {
      socket.destroy();
      return Promise.reject(toOsmoError(e));
    }
    socket.setNoDelay(true);
    if (!o.tls) {
      return LinkConnection.handshake({ socket, role: 'server', remote, key: o.key, options });
    }
    const psk = o.key as Buffer;
    // Node honours pskCallback on a server TLSSocket; @types/node lists it on tls.Server only.
    const secureOptions: Tls.TLSSocketOptions & Pick<Tls.TlsOptions, 'pskCallback'> = {
      isServer: true,
      secureContext: tlsContext(),
      pskCallback: (_socket, identity) => (identity === TLS_PSK_IDENTITY ? psk : null),
    };
    const secure = new (tls().TLSSocket)(socket, secureOptions);
    return LinkConnection.handshake({
      socket: secure,
      role: 'server',
      remote,
      readyEvent: 'secure',
      key: o.key,
      options,
    });
  }

  /**
   * Frames sent from now until the current JS task ends leave together, when it ends (or at
   * {@link drain}): a runner answers a burst of a guest's pipelined writes in one task
   * (runtime/channel.ts), and a TLS record and a syscall per 64-byte write cost more than the
   * write. Order is kept. Opt-in, for such bursts: code that sends and then ends its process
   * expects its frame handed to the kernel at once.
   */
  corkUntilTaskEnds(): void {
    if (this.corked || this.phase !== 'open') return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => this.uncork());
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  /**
   * Sends one frame; `type` is 8..255. The payload is not copied (except small ones): do not
   * change its bytes until the write completed. Returns what `socket.write` returned: false
   * means the socket buffers more than its high-water mark; await {@link drain} before sending
   * much more. Throws E_LINK once the link is closing or closed. `flushed` is called once the
   * frame has been handed to the kernel (its payload may then be reused), or with the error
   * if the link failed first.
   */
  send(
    type: number,
    payload?: Uint8Array | readonly Uint8Array[],
    flushed?: (error?: Error | null) => void,
  ): boolean {
    if (this.phase !== 'open') throw this.closedError();
    if (!(type >= FIRST_USER_FRAME_TYPE && type <= 0xff && Number.isInteger(type))) {
      throw new OsmoError(
        'E_INTERNAL',
        `frame type ${type} is not 8..255 (0..7 belong to the link itself)`,
      );
    }
    const socket = this.socket;
    this.sentSinceTick = true;
    this.counters.framesSent++;
    if (payload === undefined) {
      this.counters.bytesSent += FRAME_HEADER_BYTES;
      return socket.write(encodeFrameHeader(type, 0), flushed);
    }
    if (payload instanceof Uint8Array) {
      const length = payload.length;
      this.checkSendSize(length);
      this.counters.bytesSent += FRAME_HEADER_BYTES + length;
      if (length <= SEND_COPIES_UP_TO_BYTES)
        return socket.write(encodeFrame(type, payload), flushed);
      socket.cork();
      socket.write(encodeFrameHeader(type, length));
      const ok = socket.write(payload, flushed);
      socket.uncork();
      return ok;
    }
    let length = 0;
    for (const part of payload) length += part.length;
    this.checkSendSize(length);
    this.counters.bytesSent += FRAME_HEADER_BYTES + length;
    socket.cork();
    let ok = socket.write(
      encodeFrameHeader(type, length),
      payload.length === 0 ? flushed : undefined,
    );
    payload.forEach((part, i) => {
      if (part.length > 0 || i === payload.length - 1)
        ok = socket.write(part, i === payload.length - 1 ? flushed : undefined);
    });
    socket.uncork();
    return ok;
  }

  /**
   * Sends `value` as UTF-8 JSON. A bigint anywhere in it is sent as its decimal string (JSON has
   * no 64-bit integers); the receiver converts back with `BigInt()` where its schema says so.
   */
  sendJson(type: number, value: unknown): boolean {
    const text = JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    ) as string | undefined;
    if (text === undefined) {
      throw new OsmoError('E_INTERNAL', `cannot send ${typeof value} as JSON on ${this.remote}`);
    }
    return this.send(type, Buffer.from(text, 'utf8'));
  }

  /** Resolves when the socket's buffer has room again (at once if it has); rejects if closed. */
  drain(): Promise<void> {
    if (this.phase === 'closed') return Promise.reject(this.closedError());
    this.uncork(); // what was sent is on its way before anyone waits for it
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    if (this.drainWait === undefined) {
      let resolve!: () => void;
      let reject!: (e: OsmoError) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.drainWait = { promise, resolve, reject };
    }
    return this.drainWait.promise;
  }

  /**
   * Reads nothing more from the peer until `settled` settles: a receiver that passes frames on
   * to a slower link stops its sender here (TCP's flow control) instead of buffering what comes.
   * Frames already read are still delivered. While paused the peer's silence is not counted
   * against it: the heartbeat cannot arrive.
   */
  pauseReadingUntil(settled: Promise<unknown>): void {
    if (this.readingPausedBy++ === 0) this.socket.pause();
    const resume = (): void => {
      if (--this.readingPausedBy === 0 && this.phase !== 'closed') this.socket.resume();
    };
    settled.then(resume, resume);
  }

  /**
   * Sets the one receiver of user frames (types 8..255), called in stream order. Frames that
   * arrived before a handler was set are delivered to it now. If the handler throws, the link
   * is destroyed and {@link closed} reports E_INTERNAL.
   */
  onFrame(handler: FrameHandler): void {
    this.handler = handler;
    while (this.queue.length > 0 && this.handler === handler && this.phase !== 'closed') {
      const { frame, startedMs } = this.queue.shift()!;
      this.deliver(frame.type, frame.payload, startedMs);
    }
  }

  /**
   * While a frame handler runs: when the first byte of its frame arrived (performance.now()
   * clock, to the chunk). A large frame arrives over many chunks; its handler runs at its last.
   */
  get frameStartedMs(): number {
    return this.deliveringStartedMs;
  }

  /**
   * Orderly close: queued frames are flushed, then GOODBYE and FIN; `closed` → undefined once
   * the peer's FIN arrives. A peer that has not read everything by `waitMs` (default the link's
   * timeout) loses what it has not read: the socket is then destroyed.
   */
  close(waitMs = this.options.timeoutMs): void {
    if (this.phase !== 'open') return;
    this.phase = 'closing';
    this.stopHeartbeat();
    this.socket.write(encodeFrameHeader(LINK_GOODBYE_TYPE, 0));
    this.socket.end();
    // A peer that never answers our FIN must not hold the socket forever.
    this.closeTimer = setTimeout(() => {
      this.settle(undefined);
      this.socket.destroy();
    }, waitMs).unref();
  }

  /**
   * Abrupt close: unsent data is dropped and the peer sees the link break (E_LINK on its side).
   * `closed` settles with `error` (undefined if none given).
   */
  destroy(error?: OsmoError): void {
    this.settle(error);
    this.socket.destroy();
  }

  /** 'open', 'closing' (after {@link close}, until the peer's FIN), or 'closed'. */
  get state(): 'open' | 'closing' | 'closed' {
    return this.phase;
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  private onData(chunk: Buffer): void {
    this.receivedSinceTick = true;
    this.counters.bytesReceived += chunk.length;
    // One clock read per chunk: the frames that begin in it began now (to the chunk).
    const now = performance.now();
    const continuing = this.decoder.bufferedBytes > 0;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail(
        new OsmoError('E_LINK', `link to ${this.remote} broke: ${errorText(e)}`, { cause: e }),
      );
      return;
    }
    const firstStartedMs = continuing ? this.partialSince : now;
    // A frame still incomplete began in an earlier chunk only if no frame ended in this one.
    if (this.decoder.bufferedBytes > 0 && (frames.length > 0 || !continuing)) {
      this.partialSince = now;
    }
    for (let i = 0; i < frames.length && this.phase !== 'closed'; i++) {
      const frame = frames[i]!;
      if (frame.type >= FIRST_USER_FRAME_TYPE) {
        this.counters.framesReceived++;
        const startedMs = i === 0 ? firstStartedMs : now;
        if (this.handler !== undefined && this.queue.length === 0) {
          this.deliver(frame.type, frame.payload, startedMs);
        } else {
          this.queue.push({ frame, startedMs });
        }
      } else if (frame.type === LINK_HEARTBEAT_TYPE) {
        this.counters.heartbeatsReceived++;
      } else if (frame.type === LINK_GOODBYE_TYPE) {
        this.peerSaidGoodbye = true;
      } else if (frame.type === LINK_PROOF_TYPE) {
        this.fail(
          new OsmoError(
            'E_LINK',
            `link to ${this.remote} broke: a second PROOF after the handshake`,
          ),
        );
      }
      // Other reserved types: ignored, for later versions.
    }
  }

  private deliver(type: number, payload: Buffer, startedMs: number): void {
    this.deliveringStartedMs = startedMs;
    try {
      this.handler!(type, payload);
    } catch (e) {
      this.fail(
        new OsmoError(
          'E_INTERNAL',
          `the frame handler of the link to ${this.remote} threw: ${errorText(e)}`,
          { cause: e },
        ),
      );
    }
  }

  private onEnd(): void {
    // With allowHalfOpen off, Node ends our side too; 'close' follows.
    if (this.phase === 'closing') return;
    if (this.peerSaidGoodbye) {
      // Our side is ending now: further sends would be lost, so they throw instead.
      this.phase = 'closing';
      this.stopHeartbeat();
      return;
    }
    this.fail(
      new OsmoError(
        'E_LINK',
        `link to ${this.remote} ended without a goodbye (the peer's process exited or crashed?)`,
      ),
    );
  }

  private onError(e: Error): void {
    if (this.phase === 'closing' || this.peerSaidGoodbye) return;
    this.fail(
      new OsmoError('E_LINK', `link to ${this.remote} failed: ${errorText(e)}`, { cause: e }),
    );
  }

  private onClose(): void {
    if (this.phase === 'closing' || this.peerSaidGoodbye) this.settle(undefined);
    else this.settle(new OsmoError('E_LINK', `link to ${this.remote} closed unexpectedly`));
  }

  private onDrain(): void {
    const wait = this.drainWait;
    this.drainWait = undefined;
    wait?.resolve();
  }

  private onHeartbeatTick(): void {
    if (this.phase !== 'open') return;
    const heartbeatMs = this.options.heartbeatMs!;
    const now = this.options.timers.now();
    const sinceTick = now - this.lastTickAt;
    this.lastTickAt = now;
    // Ticks come every heartbeatMs / 2. One a whole period late means we did not run (stopped
    // by Ctrl-Z or SIGSTOP, starved of CPU, swapped out): whatever the peer sent meanwhile is
    // still unread in our socket, so that time is no evidence of its silence.
    if (sinceTick >= heartbeatMs) this.lastReceivedAt = now;
    if (this.receivedSinceTick || this.readingPausedBy > 0) {
      this.receivedSinceTick = false;
      this.lastReceivedAt = now;
    }
    if (this.sentSinceTick) {
      this.sentSinceTick = false;
      this.lastSentAt = now;
    }
    const silentMs = now - this.lastReceivedAt;
    if (silentMs >= 3 * heartbeatMs && !this.askingAboutSilence) {
      const silence = `peer ${this.remote} went silent for ${Math.round(silentMs)} ms (heartbeat every ${heartbeatMs} ms)`;
      const ask = this.options.peerHostUp;
      const host = this.socket.remoteAddress;
      const port = this.socket.remotePort;
      if (ask === undefined || host === undefined || port === undefined) {
        this.fail(new OsmoError('E_LINK', silence));
        return;
      }
      this.askingAboutSilence = true;
      void ask(host, port)
        .catch(() => false)
        .then((up) => {
          this.askingAboutSilence = false;
          if (this.phase !== 'open') return;
          if (!up) {
            this.fail(new OsmoError('E_LINK', `${silence}, and its host does not answer`));
            return;
          }
          this.counters.silencesExcused++;
          this.lastReceivedAt = this.options.timers.now();
        });
    }
    if (now - this.lastSentAt >= heartbeatMs) {
      this.lastSentAt = now;
      this.counters.heartbeatsSent++;
      this.counters.bytesSent += FRAME_HEADER_BYTES;
      this.socket.write(encodeFrameHeader(LINK_HEARTBEAT_TYPE, 0));
    }
  }

  private fail(error: OsmoError): void {
    this.settle(error);
    this.socket.destroy();
  }

  private settle(reason: OsmoError | undefined): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.reason = reason;
    this.queue = [];
    this.stopHeartbeat();
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    const wait = this.drainWait;
    this.drainWait = undefined;
    wait?.reject(this.closedError());
    this.resolveClosed(reason);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat === undefined) return;
    this.options.timers.clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private checkSendSize(length: number): void {
    if (length > this.options.maxFrameBytes) {
      throw new OsmoError(
        'E_INTERNAL',
        `a frame payload of ${length} bytes exceeds maxFrameBytes ${this.options.maxFrameBytes} ` +
          `of the link to ${this.remote}; split it`,
      );
    }
  }

  private closedError(): OsmoError {
    return new OsmoError(
      'E_LINK',
      `link to ${this.remote} is ${this.phase === 'closing' ? 'closing' : 'closed'}` +
        (this.reason ? `: ${this.reason.message}` : ''),
      this.reason ? { cause: this.reason } : undefined,
    );
  }

  /** Both roles: HELLO out, HELLO in, PROOF out, PROOF in; then the link. */
  private static handshake(s: {
    socket: net.Socket;
    role: LinkRole;
    remote: string;
    /** Event after which the socket can carry the HELLO; none for an accepted plain socket. */
    readyEvent?: 'connect' | 'secureConnect' | 'secure';
    key: LinkKeyChoice;
    options: ResolvedOptions;
  }): Promise<LinkConnection> {
    const { socket, role, remote, readyEvent, options } = s;
    const peerRole: LinkRole = role === 'client' ? 'server' : 'client';
    const nonce = randomBytes(NONCE_BYTES);
    return new Promise((resolve, reject) => {
      let connected = role === 'server';
      let ready = readyEvent === undefined;
      let received: Buffer = Buffer.alloc(0);
      let hello: Hello | undefined;
      let key: Buffer | undefined;
      let done = false;

      const timer = setTimeout(() => {
        fail(
          new OsmoError(
            'E_LINK',
            role === 'client'
              ? `${remote} did not answer the link handshake within ${options.timeoutMs} ms`
              : `${remote} did not complete the link handshake within ${options.timeoutMs} ms`,
          ),
        );
      }, options.timeoutMs).unref();

      const onConnect = (): void => {
        connected = true;
      };
      const onReady = (): void => {
        ready = true;
        socket.setNoDelay(true);
        socket.write(encodeHello(role, nonce));
      };
      const onError = (e: Error): void => {
        fail(handshakeSocketError(e, remote, connected, readyEvent !== 'connect' && !ready));
      };
      const onEnd = (): void => {
        fail(
          new OsmoError(
            'E_LINK',
            `${remote} closed the connection during the link handshake ` +
              '(it refused our key, or it is not an Osmosis link)',
          ),
        );
      };
      const onData = (chunk: Buffer): void => {
        try {
          received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
          if (hello === undefined) {
            if (!couldBeHello(received)) throw notALinkError(remote, received);
            if (received.length < HELLO_BYTES) return;
            hello = decodeHello(received.subarray(0, HELLO_BYTES), peerRole, remote);
            received = received.subarray(HELLO_BYTES);
            key = typeof s.key === 'function' ? s.key(hello, remote) : s.key;
            if (key === undefined) throw authError(remote);
            socket.write(encodeFrame(LINK_PROOF_TYPE, computeProof(key, role, nonce, hello.nonce)));
          }
          if (received.length < FRAME_HEADER_BYTES) return;
          const length = received.readUInt32LE(0);
          const type = received[4]!;
          if (type !== LINK_PROOF_TYPE || length !== PROOF_BYTES + 1) {
            throw new OsmoError(
              'E_PROTO_DECODE',
              `${remote} sent a frame of type ${type} and length ${length} where its link ` +
                'PROOF belongs',
            );
          }
          const proofEnd = FRAME_HEADER_BYTES + PROOF_BYTES;
          if (received.length < proofEnd) return;
          checkProof(
            key!,
            peerRole,
            hello.nonce,
            nonce,
            received.subarray(FRAME_HEADER_BYTES, proofEnd),
            remote,
          );
          done = true;
          cleanup();
          resolve(new LinkConnection(socket, remote, options, received.subarray(proofEnd)));
        } catch (e) {
          fail(toOsmoError(e));
        }
      };

      function cleanup(): void {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        if (readyEvent !== undefined) socket.off(readyEvent, onReady);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
      }
      function fail(error: OsmoError): void {
        if (done) return;
        done = true;
        cleanup();
        abandon(socket, options.timeoutMs);
        reject(error);
      }

      socket.on('connect', onConnect);
      if (readyEvent !== undefined) socket.once(readyEvent, onReady);
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('end', onEnd);
      socket.on('close', onEnd);
      if (ready) onReady();
    });
  }
}

/** "host:port", with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function resolveOptions(o: LinkOptions): ResolvedOptions {
  const timeoutMs = o.timeoutMs ?? DEFAULT_LINK_TIMEOUT_MS;
  const maxFrameBytes = o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const problems: string[] = [];
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) problems.push(`timeoutMs ${timeoutMs}`);
  if (!(Number.isInteger(maxFrameBytes) && maxFrameBytes >= 0)) {
    problems.push(`maxFrameBytes ${maxFrameBytes}`);
  }
  if (o.heartbeatMs !== undefined && !(Number.isFinite(o.heartbeatMs) && o.heartbeatMs > 0)) {
    problems.push(`heartbeatMs ${o.heartbeatMs}`);
  }
  if (problems.length > 0) {
    throw new OsmoError('E_CONFIG', `bad link options: ${problems.join(', ')} (must be > 0)`);
  }
  return {
    timeoutMs,
    maxFrameBytes,
    heartbeatMs: o.heartbeatMs,
    peerHostUp: o.peerHostUp,
    timers: o.timers ?? systemLinkTimers,
  };
}

let tlsModule: typeof Tls | undefined;

/**
 * node:tls, loaded on the first TLS link: most links are plain, and loading it costs every
 * `osmo run` a few ms at start (ADR 0001).
 */
function tls(): typeof Tls {
  tlsModule ??= createRequire(import.meta.url)('node:tls') as typeof Tls;
  return tlsModule;
}

let sharedTlsContext: Tls.SecureContext | undefined;

/** TLS 1.2 only: Node's PSK support is TLS 1.2 (1.3 ignores identity hints, and the PSK suites). */
function tlsContext(): Tls.SecureContext {
  sharedTlsContext ??= tls().createSecureContext({
    ciphers: TLS_CIPHERS,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
  });
  return sharedTlsContext;
}

/** OpenSSL codes that mean the two ends hold different pre-shared keys. */
const TLS_KEY_MISMATCH =
  /BAD_RECORD_MAC|DECRYPT|CIPHER_OPERATION_FAILED|UNKNOWN_PSK_IDENTITY|PSK_IDENTITY_NOT_FOUND/;

function handshakeSocketError(
  e: Error,
  remote: string,
  connected: boolean,
  duringTls: boolean,
): OsmoError {
  const code = (e as NodeJS.ErrnoException).code;
  const text = errorText(e);
  if (!connected) return new OsmoError('E_LINK', `cannot reach ${remote}: ${text}`, { cause: e });
  if (code !== undefined && TLS_KEY_MISMATCH.test(code)) return authError(remote, e);
  if (duringTls || code?.startsWith('ERR_SSL')) {
    return new OsmoError(
      'E_LINK',
      `TLS handshake with ${remote} failed: ${text} (is tls enabled on both ends?)`,
      { cause: e },
    );
  }
  return new OsmoError('E_LINK', `link handshake with ${remote} failed: ${text}`, { cause: e });
}

/** Closes a socket we gave up on without crashing on its later errors. */
function abandon(socket: net.Socket, timeoutMs: number): void {
  socket.on('error', () => undefined);
  if (socket.destroyed) return;
  socket.end();
  const timer = setTimeout(() => socket.destroy(), Math.min(timeoutMs, 1000)).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** "ECONNREFUSED" for system errors; the message (first line) otherwise. */
function errorText(e: unknown): string {
  if (isOsmoError(e)) return e.message;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  // OpenSSL's messages are long and name source files; its code says the same in short.
  if (typeof code === 'string' && code.startsWith('ERR_SSL_')) {
    return `${code.slice('ERR_SSL_'.length).toLowerCase().replaceAll('_', ' ')} (${code})`;
  }
  const message = e instanceof Error ? e.message : String(e);
  return (message.split('\n')[0] ?? '').trim() + (code ? ` (${code})` : '');
}

function toOsmoError(e: unknown): OsmoError {
  if (isOsmoError(e)) return e;
  return new OsmoError('E_INTERNAL', errorText(e), { cause: e });
}
