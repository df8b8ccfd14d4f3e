/**
 * {@link DatagramTransport} over UDP. Every datagram is sealed with HMAC-SHA256 and a per-sender
 * (epoch, seq) counter (auth-codec.ts); on receipt, oversized, malformed, forged, wrongly keyed
 * and replayed datagrams are dropped and counted by reason — the receiver never sees them and
 * nothing a peer sends can throw out of here.
 *
 * Optional second socket for LAN auto-discovery: bound to a multicast group (224.0.0.0/4) or a
 * broadcast address, shared by every daemon of the host (SO_REUSEADDR). Beacons are ordinary
 * sealed windows, so discovery needs no protocol of its own and a node with another secret is
 * not discovered.
 */
import dgram from 'node:dgram';
import { OsmoError } from '../core/errors.js';
import type { Address, DatagramHandler, DatagramTransport } from '../core/transport.js';
import { formatHostPort, parseHostPort, splitGossipAddress } from './address.js';
import type { HostPort } from './address.js';
import {
  AUTH_HEADER_BYTES,
  DROP_REASONS,
  ReplayGuard,
  openDatagram,
  sealDatagram,
} from './auth-codec.js';
import type { AuthKey, DropReason, SealCounter } from './auth-codec.js';

export interface UdpTransportOptions {
  readonly listen: HostPort;
  /** What peers should send to (this endpoint's `localAddress`). */
  readonly localAddress: Address;
  readonly key: AuthKey;
  readonly senderId: number;
  readonly counter: SealCounter;
  /** Largest datagram on the wire, header included. */
  readonly maxDatagramBytes: number;
  readonly discovery?: HostPort | undefined;
  /** Called for every dropped datagram (the daemon rate-limits its log lines). */
  readonly onDrop?: ((from: Address, reason: DropReason) => void) | undefined;
}

export interface TransportCounters {
  datagramsSent: number;
  bytesSent: number;
  datagramsReceived: number;
  bytesReceived: number;
  sendErrors: number;
  drops: Record<DropReason, number>;
}

function isMulticast(host: string): boolean {
  const first = Number(host.split('.')[0]);
  return first >= 224 && first <= 239;
}

function bindSocket(socket: dgram.Socket, hp: HostPort, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why =
        e.code === 'EADDRINUSE'
          ? 'address already in use — is another daemon running there? choose another port'
          : e.code === 'EADDRNOTAVAIL'
            ? 'no such local address on this host'
            : e.code === 'EACCES'
              ? 'permission denied (ports below 1024 need privileges)'
              : e.message;
      reject(
        new OsmoError('E_CONFIG', `cannot listen on UDP ${formatHostPort(hp)} (${what}): ${why}`, {
          cause: e,
          details: { address: formatHostPort(hp), errno: e.code },
        }),
      );
    };
    socket.once('error', onError);
    socket.bind(hp.port, hp.host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

export class UdpTransport implements DatagramTransport {
  readonly localAddress: Address;
  readonly maxDatagramBytes: number;
  readonly counters: TransportCounters;
  private handler: DatagramHandler | undefined;
  private readonly replay = new ReplayGuard();
  private closed = false;

  private constructor(
    private readonly options: UdpTransportOptions,
    private readonly socket: dgram.Socket,
    private readonly discoverySocket: dgram.Socket | undefined,
    readonly boundPort: number,
  ) {
    this.localAddress = options.localAddress;
    this.maxDatagramBytes = options.maxDatagramBytes - AUTH_HEADER_BYTES;
    const drops = {} as Record<DropReason, number>;
    for (const r of DROP_REASONS) drops[r] = 0;
    this.counters = {
      datagramsSent: 0,
      bytesSent: 0,
      datagramsReceived: 0,
      bytesReceived: 0,
      sendErrors: 0,
      drops,
    };
    socket.on('message', (msg, rinfo) => this.deliver(msg, `${rinfo.address}:${rinfo.port}`));
    discoverySocket?.on('message', (msg, rinfo) =>
      this.deliver(msg, `${rinfo.address}:${rinfo.port}`),
    );
    // After bind, socket errors (ICMP unreachable surfacing on some platforms…) are events, not crashes.
    socket.on('error', () => this.counters.sendErrors++);
    discoverySocket?.on('error', () => this.counters.sendErrors++);
  }

  static async open(options: UdpTransportOptions): Promise<UdpTransport> {
    const type = options.listen.host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type });
    await bindSocket(socket, options.listen, 'gossip');
    let discoverySocket: dgram.Socket | undefined;
    const d = options.discovery;
    if (d !== undefined) {
      discoverySocket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      try {
        await bindSocket(discoverySocket, d, 'discovery');
        if (isMulticast(d.host)) {
          const iface = options.listen.host === '0.0.0.0' ? undefined : options.listen.host;
          discoverySocket.addMembership(d.host, iface);
          if (iface !== undefined) socket.setMulticastInterface(iface);
          socket.setMulticastLoopback(true);
        } else {
          socket.setBroadcast(true);
        }
      } catch (e) {
        socket.close();
        discoverySocket.close();
        throw e;
      }
    }
    return new UdpTransport(options, socket, discoverySocket, socket.address().port);
  }

  onReceive(handler: DatagramHandler): void {
    this.handler = handler;
  }

  send(to: Address, bytes: Uint8Array): void {
    if (this.closed) return;
    const target = parseHostPort(splitGossipAddress(to).hostPort);
    if (typeof target === 'string') {
      this.drop(to, 'bad-address');
      return;
    }
    this.sendTo(target, bytes);
  }

  /** Sends a discovery beacon to the discovery group/broadcast address. */
  sendDiscovery(bytes: Uint8Array): void {
    const d = this.options.discovery;
    if (d !== undefined && !this.closed) this.sendTo(d, bytes);
  }

  /** For drops decided above the transport (e.g. an authentic but undecodable payload). */
  drop(from: Address, reason: DropReason): void {
    this.counters.drops[reason]++;
    this.options.onDrop?.(from, reason);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [this.socket, this.discoverySocket].map(
        (s) =>
          new Promise<void>((resolve) => (s === undefined ? resolve() : s.close(() => resolve()))),
      ),
    );
  }

  private sendTo(target: HostPort, bytes: Uint8Array): void {
    if (bytes.length > this.maxDatagramBytes) {
      throw new OsmoError(
        'E_INTERNAL',
        `datagram of ${bytes.length} bytes exceeds maxDatagramBytes − header (${this.maxDatagramBytes})`,
      );
    }
    const sealed = sealDatagram(
      this.options.key,
      { senderId: this.options.senderId, ...this.options.counter.next() },
      bytes,
    );
    this.counters.datagramsSent++;
    this.counters.bytesSent += sealed.length;
    this.socket.send(sealed, target.port, target.host, (error) => {
      if (error) this.counters.sendErrors++;
    });
  }

  private deliver(msg: Buffer, from: Address): void {
    if (this.closed) return;
    this.counters.datagramsReceived++;
    this.counters.bytesReceived += msg.length;
    const opened = openDatagram(this.options.key, msg, this.options.maxDatagramBytes);
    if (!opened.ok) {
      this.drop(from, opened.reason);
      return;
    }
    if (opened.senderId === this.options.senderId) {
      this.drop(from, 'own');
      return;
    }
    if (!this.replay.accept(opened.senderId, opened.epoch, opened.seq)) {
      this.drop(from, 'replayed');
      return;
    }
    try {
      this.handler?.(from, opened.payload);
    } catch {
      // The receiver's bug must not take the socket down; count it where it can be seen.
      this.drop(from, 'malformed');
    }
  }
}
