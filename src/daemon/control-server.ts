/**
 * Serves the control API on a Unix socket. The socket's directory is created 0700 and the socket
 * chmod 0600: only the daemon's user can talk to it. A stale socket file left by a crashed daemon
 * is replaced; a live one (another daemon answers) is an error naming the path.
 *
 * The users' socket (`forUsers`) is the same API for every local user: directory 0755, socket
 * 0666, and the ops only the node's administrator may use (ADMIN_ONLY_OPS) refused. Node gives
 * no peer credentials on a Unix socket, so which socket a request came through is what decides
 * (ADR 0014).
 */
import { chmodSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { LinePayloadDecoder } from '../protocol/line-payloads.js';
import { dirname } from 'node:path';
import { OsmoError, isOsmoError } from '../core/errors.js';
import type { Logger } from '../platform/logger.js';
import { socketAnswers } from '../platform/unix-socket.js';
import {
  CONTROL_VERSION,
  MAX_LINE_BYTES,
  controlPayloadBytes,
  encodeLine,
  parseRequest,
} from './control-protocol.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

export type ControlHandler = (request: ControlRequest) => unknown;

const MAX_CONNECTIONS = 64;

/** Ops the users' socket refuses: they change what the node does for everybody. */
export const ADMIN_ONLY_OPS: readonly ControlRequest['op'][] = ['admin'];

export interface ControlServerOptions {
  /** The users' socket: open to every local user, administration refused. */
  readonly forUsers?: boolean;
  /**
   * A request succeeded but its client was gone before the answer reached it: what the answer
   * gave (a place on another node) must be given back, or it stays taken until it times out.
   */
  readonly onUndelivered?: (request: ControlRequest, result: unknown) => void;
}

export class ControlServer {
  private constructor(
    private readonly server: net.Server,
    private readonly sockets: Set<net.Socket>,
    readonly path: string,
  ) {}

  static async listen(
    path: string,
    handler: ControlHandler,
    log: Logger,
    options: ControlServerOptions = {},
  ): Promise<ControlServer> {
    const forUsers = options.forUsers === true;
    const setting = forUsers ? 'usersSocket' : 'controlSocket';
    try {
      mkdirSync(dirname(path), { recursive: true, mode: forUsers ? 0o755 : 0o700 });
    } catch (e) {
      throw new OsmoError(
        'E_CONFIG',
        `${setting} ${path}: cannot create its directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
    if (await socketAnswers(path)) {
      throw new OsmoError(
        'E_CONFIG',
        `${setting} ${path} is in use: another daemon is running; stop it or choose --${forUsers ? 'users-socket' : 'control-socket'}`,
      );
    }
    try {
      unlinkSync(path);
    } catch {
      // no stale socket
    }
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: false }, (socket) => {
      if (sockets.size >= MAX_CONNECTIONS) {
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      const lines = new LinePayloadDecoder(MAX_LINE_BYTES, MAX_LINE_BYTES, controlPayloadBytes);
      socket.on('error', () => socket.destroy());
      socket.on('data', (chunk: Buffer) => {
        for (const { line, payload } of lines.push(chunk)) {
          const parsed = parseRequest(line, payload);
          if (!parsed.ok) {
            socket.write(
              encodeLine({ v: CONTROL_VERSION, id: parsed.id, ok: false, error: parsed.error }),
            );
            continue;
          }
          const { id, op } = parsed.request;
          if (forUsers && ADMIN_ONLY_OPS.includes(op)) {
            socket.write(
              encodeLine({
                v: CONTROL_VERSION,
                id,
                ok: false,
                error: {
                  code: 'E_USAGE',
                  message: `${op} is for the node's administrator, and ${path} is the users' socket: as the daemon's user (root), use its control socket (--daemon PATH)`,
                },
              }),
            );
            continue;
          }
          // Some ops wait on other nodes: answers may come out of order, matched by id.
          void Promise.resolve()
            .then(() => handler(parsed.request))
            .then(
              (result): ControlResponse => ({ v: CONTROL_VERSION, id, ok: true, result }),
              (e: unknown): ControlResponse => {
                const error = isOsmoError(e)
                  ? e.toJSON()
                  : { code: 'E_INTERNAL' as const, message: String(e) };
                if (!isOsmoError(e) || e.code === 'E_INTERNAL')
                  log.error('control request failed', { op, error: error.message });
                return { v: CONTROL_VERSION, id, ok: false, error };
              },
            )
            .then((response) => {
              const undelivered = (): void => {
                if (response.ok) options.onUndelivered?.(parsed.request, response.result);
              };
              if (!socket.writable) {
                undelivered();
                return;
              }
              // A client that closed its end may still look writable; the write then fails.
              socket.write(encodeLine(response), (error) => {
                if (error) undelivered();
              });
            });
        }
        if (lines.overflow) {
          socket.end(
            encodeLine({
              v: CONTROL_VERSION,
              id: 0,
              ok: false,
              error: { code: 'E_PROTO_DECODE', message: 'request line or its data too long' },
            }),
          );
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new OsmoError('E_CONFIG', `${setting} ${path}: cannot listen (${e.code ?? e.message})`),
        ),
      );
      server.listen(path, () => resolve());
    });
    chmodSync(path, forUsers ? 0o666 : 0o600);
    if (forUsers) openToUsers(dirname(path), log);
    return new ControlServer(server, sockets, path);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // close() waits for open connections (a running `osmo mon`): end them.
      for (const s of this.sockets) s.destroy();
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    });
  }
}

/**
 * The users' socket is no use in a directory other users cannot enter. The daemon's own directory
 * (made 0700 for the control socket beside it) is opened to 0755 — the control socket keeps its
 * own 0600; one of another owner (e.g. made 0700 by systemd for root) is only warned about.
 */
function openToUsers(dir: string, log: Logger): void {
  const st = statSync(dir);
  const mode = st.mode & 0o777;
  if ((mode & 0o005) === 0o005) return;
  if (st.uid === process.getuid?.()) {
    chmodSync(dir, mode | 0o055);
    log.info('usersSocket directory opened to other users', {
      dir,
      mode: (mode | 0o055).toString(8),
    });
    return;
  }
  log.warn('usersSocket directory is closed to other users: make it 0755', {
    dir,
    mode: mode.toString(8),
  });
}
