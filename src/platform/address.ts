/** host:port addresses of the daemon's sockets, and the name@host:port form gossip carries. */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" or "[v6]:port"; returns a problem text instead of throwing. */
export function parseHostPort(text: string): HostPort | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (m === null || host === undefined || host === '') {
    return `"${text}" is not host:port (e.g. 10.0.0.7:5301)`;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return `"${text}": port ${m[3]} is outside 0..65535`;
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/**
 * The gossip layer's NodeRecord has no name field, and its address is opaque to it; the daemon
 * therefore advertises `name@host:port` (ADR 0004). The UDP transport sends to the host:port part.
 */
export function gossipAddress(name: string, hp: HostPort): string {
  return `${name}@${formatHostPort(hp)}`;
}

export function splitGossipAddress(address: string): {
  name: string | undefined;
  hostPort: string;
} {
  const at = address.lastIndexOf('@');
  return at < 0
    ? { name: undefined, hostPort: address }
    : { name: address.slice(0, at), hostPort: address.slice(at + 1) };
}
