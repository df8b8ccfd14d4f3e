/**
 * A datagram transport as the cores see it: unreliable, unordered, size-limited. The platform
 * layer implements it over UDP (adding authentication and replay protection there), the
 * simulator over an in-memory network with seeded latency, loss and partitions.
 */

/** A transport address, opaque to the cores ("10.0.0.7:5301" for UDP, "n17" in the simulator). */
export type Address = string;

export type DatagramHandler = (from: Address, bytes: Uint8Array) => void;

export interface DatagramTransport {
  /** This endpoint's own address as peers should use it. */
  readonly localAddress: Address;
  /** Largest payload `send` accepts; larger datagrams are a caller bug, not a network event. */
  readonly maxDatagramBytes: number;
  /** Fire and forget: a datagram may be lost, duplicated or reordered. Never throws on loss. */
  send(to: Address, bytes: Uint8Array): void;
  /** Registers the single receiver; datagrams that fail authentication never reach it. */
  onReceive(handler: DatagramHandler): void;
  close(): Promise<void>;
}
