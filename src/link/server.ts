/**
 * Listens for links: accepts TCP connections, runs the server side of the handshake under a
 * deadline, and hands authenticated links to `onConnection`. A connection that fails the
 * handshake (wrong secret, a stranger on the port, a timeout) is closed and reported to
 * `onRejected`; it never disturbs the server.
 */
import net from 'node:net';
import { OsmoError } from '../core/errors.js';
import type { LinkKeyChoice, LinkOptions } from './connection.js';
import { LinkConnection, formatHostPort } from './connection.js';

export interface LinkServerOptions extends LinkOptions {
  host: string;
  /** 0 picks a free port; read it from {@link LinkServer.port}. */
  port: number;
  key: LinkKeyChoice;
  /** Receives each authenticated link; from then on it owns it (and must close it). */
  onConnection: (link: LinkConnection) => void;
  /** A connection refused during the handshake, with why (E_AUTH, E_PROTO_*, E_LINK). */
  onRejected?: (remote: string, error: OsmoError) => void;
  /** The listening socket failed after it was set up (e.g. EMFILE on accept). */
  onError?: (error: OsmoError) => void;
  /** TLS 1.2 with the key as pre-shared key; clients must connect with `tls: true`. */
  tls?: boolean;
  /** Handshakes in progress at once; more connections are refused at once. Default 128. */
  maxPendingHandshakes?: number;
}

export class LinkServer {
  private readonly pending = new Set<net.Socket>();
  private closing = false;

  private constructor(
    private readonly server: net.Server,
    /** The port actually listened on. */
    readonly port: number,
    readonly host: string,
  ) {}

  /** Listens on host:port; rejects with E_CONFIG naming the address if it cannot. */
  static listen(o: LinkServerOptions): Promise<LinkServer> {
    const address = formatHostPort(o.host, o.port);
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      return Promise.reject(
        new OsmoError('E_CONFIG', `cannot listen on ${address}: the port must be 0..65535`),
      );
    }
    if (o.tls && typeof o.key === 'function') {
      return Promise.reject(
        new OsmoError(
          'E_CONFIG',
          `cannot listen on ${address}: a TLS link server needs a fixed key ` +
            '(TLS uses it before any HELLO)',
        ),
      );
    }
    const maxPending = o.maxPendingHandshakes ?? 128;
    const server = net.createServer({ noDelay: true });
    return new Promise((resolve, reject) => {
      const onListenError = (e: NodeJS.ErrnoException): void => {
        reject(listenError(address, e));
      };
      server.once('error', onListenError);
      server.listen({ host: o.host, port: o.port }, () => {
        server.off('error', onListenError);
        const bound = server.address() as net.AddressInfo;
        const link = new LinkServer(server, bound.port, o.host);
        server.on('error', (e: Error) => {
          o.onError?.(
            new OsmoError('E_LINK', `link server on ${address}: ${e.message}`, { cause: e }),
          );
        });
        server.on('connection', (socket) => link.onSocket(socket, o, maxPending));
        resolve(link);
      });
    });
  }

  /** "host:port" actually listened on. */
  get address(): string {
    return formatHostPort(this.host, this.port);
  }

  /**
   * Stops listening and drops connections still in their handshake. Links already handed to
   * `onConnection` stay open: their owner closes them.
   */
  close(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.closing = true;
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    return new Promise((resolve) => {
      // The listening socket is released at once; server.close's callback would also wait for
      // the handed-over links, which are not ours to wait for.
      this.server.close();
      setImmediate(resolve);
    });
  }

  private onSocket(socket: net.Socket, o: LinkServerOptions, maxPending: number): void {
    const remote = formatHostPort(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0);
    if (this.closing || this.pending.size >= maxPending) {
      socket.on('error', () => undefined);
      socket.destroy();
      o.onRejected?.(
        remote,
        new OsmoError(
          'E_LINK',
          this.closing
            ? `refused ${remote}: the link server is closing`
            : `refused ${remote}: ${maxPending} link handshakes already in progress`,
        ),
      );
      return;
    }
    this.pending.add(socket);
    void LinkConnection.accept(socket, o).then(
      (link) => {
        this.pending.delete(socket);
        if (this.closing) link.destroy();
        else o.onConnection(link);
      },
      (e: OsmoError) => {
        this.pending.delete(socket);
        if (!this.closing) o.onRejected?.(remote, e);
      },
    );
  }
}

function listenError(address: string, e: NodeJS.ErrnoException): OsmoError {
  const why =
    e.code === 'EADDRINUSE'
      ? 'the address is already in use (another daemon running?)'
      : e.code === 'EADDRNOTAVAIL'
        ? 'the host is not an address of this machine'
        : e.code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
            ? 'the host name does not resolve'
            : e.message;
  return new OsmoError('E_CONFIG', `cannot listen for links on ${address}: ${why} (${e.code})`, {
    cause: e,
  });
}
