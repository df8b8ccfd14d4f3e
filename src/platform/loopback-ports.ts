/**
 * Free loopback ports for daemons on this machine (`osmo demo`, tests, benchmarks), chosen by the
 * kernel at run time. A daemon's port is both its UDP gossip port and its TCP port for node
 * links, so a port counts as free only when both protocols could bind it.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { OsmoError } from '../core/errors.js';

const HOST = '127.0.0.1';

function bindUdp(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, HOST, () => resolve(s));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

function closeUdp(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/**
 * `n` distinct ports on 127.0.0.1 that were free for UDP and TCP a moment ago (bound, checked,
 * released). Another program may take one before a daemon binds it: the daemon then fails with a
 * line naming the port.
 */
export async function freeLoopbackPorts(n: number, attempts = 50): Promise<number[]> {
  const ports: number[] = [];
  const held: dgram.Socket[] = [];
  try {
    for (let i = 0; ports.length < n && i < attempts; i++) {
      const s = await bindUdp(0);
      if (s === undefined) continue;
      const port = s.address().port;
      if (await tcpFree(port)) {
        ports.push(port);
        held.push(s); // held until all are chosen, so the kernel does not hand it out twice
      } else await closeUdp(s);
    }
  } finally {
    await Promise.all(held.map(closeUdp));
  }
  if (ports.length < n)
    throw new OsmoError('E_IO', `could not find ${n} free UDP+TCP ports on ${HOST}`);
  return ports;
}
