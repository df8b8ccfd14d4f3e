/**
 * The typed client of the control API, used by every `osmo` command that talks to a daemon.
 * It knows the protocol (control-protocol.ts) and nothing of the daemon's internals.
 */
import net from 'node:net';
import { LineDecoder } from '../protocol/json-lines.js';
import { payloadArgs, saysRawData, writeLineWithPayload } from '../protocol/line-payloads.js';
import { OsmoError } from '../core/errors.js';
import { CONTROL_VERSION, MAX_LINE_BYTES, encodeLine, parseResponse } from './control-protocol.js';
import type { ControlOp, ControlOps } from './control-protocol.js';
import { defaultControlSocket } from './socket-path.js';

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly lines = new LineDecoder(MAX_LINE_BYTES);
  private closedError: Error | undefined;
  /** The daemon takes a request's bytes raw after its line (line-payloads.ts, saysRawData). */
  private rawData = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly path: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.lines.push(chunk)) {
        const response = parseResponse(line);
        const waiter = response === undefined ? undefined : this.pending.get(response.id);
        if (response === undefined || waiter === undefined) continue;
        this.pending.delete(response.id);
        clearTimeout(waiter.timer);
        if (response.ok) {
          if (saysRawData(response.result)) this.rawData = true;
          waiter.resolve(response.result);
        } else waiter.reject(OsmoError.fromJSON(response.error));
      }
    });
    const fail = (): void => {
      this.closedError = new OsmoError('E_NO_NODE', `the daemon at ${path} closed the connection`);
      for (const w of this.pending.values()) {
        clearTimeout(w.timer);
        w.reject(this.closedError);
      }
      this.pending.clear();
    };
    socket.on('close', fail);
    socket.on('error', () => undefined);
  }

  /** Connects to the daemon's socket; E_NO_NODE with a hint if nobody listens there. */
  static connect(path: string, timeoutMs = 3000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new OsmoError('E_NO_NODE', `no answer from the daemon at ${path} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(socket, path));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ENOENT' && looksLikeNetworkAddress(path)) {
          reject(
            new OsmoError(
              'E_USAGE',
              `${path} is a network address; a daemon is reached through the path of its control socket on this node (yours: ${defaultControlSocket(process.env)}), given with --daemon PATH or OSMOSIS_DAEMON`,
            ),
          );
          return;
        }
        reject(
          new OsmoError(
            'E_NO_NODE',
            e.code === 'EACCES'
              ? `the daemon at ${path} is its own user's (EACCES); as another user, use its users' socket (usersSocket, e.g. /run/osmosis/users.sock) with --daemon PATH or OSMOSIS_DAEMON`
              : `no daemon at ${path} (${e.code ?? e.message}); start one with \`osmo daemon\`, or point to it with --daemon PATH or OSMOSIS_DAEMON`,
          ),
        );
      });
    });
  }

  /**
   * `data.payload`: bytes that go with the request (a mailbox message): raw after the line once
   * the daemon has said it takes them, else in base64 as `args.data`.
   */
  request<K extends ControlOp>(
    op: K,
    timeoutMs = 5000,
    args?: Record<string, unknown>,
    data?: { payload: Buffer },
  ): Promise<ControlOps[K]> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new OsmoError(
            'E_NO_NODE',
            `the daemon at ${this.path} did not answer "${op}" within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const raw = data !== undefined && this.rawData;
      const sent = data === undefined ? args : { ...args, ...payloadArgs(data.payload, raw) };
      const line = encodeLine(
        sent === undefined
          ? { v: CONTROL_VERSION, id, op }
          : { v: CONTROL_VERSION, id, op, args: sent },
      );
      if (raw) writeLineWithPayload(this.socket, line, data.payload);
      else this.socket.write(line);
    });
  }

  /** Whether requests can still be sent (a kept client is made anew once it is not). */
  get open(): boolean {
    return this.closedError === undefined && !this.socket.destroyed;
  }

  /** The connection no longer keeps this process alive (a kept connection). */
  unref(): void {
    this.socket.unref();
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

/** One request on a fresh connection. */
export async function requestOnce<K extends ControlOp>(
  path: string,
  op: K,
  args?: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<ControlOps[K]> {
  const client = await ControlClient.connect(path);
  try {
    return await client.request(op, timeoutMs, args);
  } finally {
    client.close();
  }
}

/**
 * HOST:PORT or [IPv6]:PORT, as a node's listen address is written: a mistake for the control
 * socket's path that would otherwise read as "no daemon at 127.0.0.1:7101 (ENOENT)".
 */
function looksLikeNetworkAddress(path: string): boolean {
  return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(path);
}
