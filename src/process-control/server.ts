/**
 * The control socket of one Osmosis process: `<dir>/<pid>.sock` (socket-dir.ts), mode 0600 in a
 * 0700 directory, answering the protocol of protocol.ts with a {@link ProcessControl}.
 *
 * A bad client never hurts the process: malformed lines are answered with an error and counted,
 * an over-long line closes that connection, errors thrown by the control travel back as
 * `{code, message}`, and connections beyond a cap are refused. Mutating operations (checkpoint,
 * freeze, continue) run one at a time across all connections, so the control never sees two at
 * once; `info` is answered at once even during a long freeze, so `osmo ps` can show it.
 *
 * The server and its connections are unref'd: a control socket never keeps a finished program's
 * deputy alive.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { OsmoError, isOsmoError } from '../core/errors.js';
import type { SerializedError } from '../core/errors.js';
import type { Logger } from '../platform/logger.js';
import { socketAnswers } from '../platform/unix-socket.js';
import { LinePayloadDecoder } from '../protocol/line-payloads.js';
import {
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  encodeResponse,
  errorResponse,
  okResponse,
  parseRequest,
  requestPayloadBytes,
} from './protocol.js';
import type { ProcessRequest, ProcessResponse } from './protocol.js';
import {
  assertSocketPathFits,
  ensureSocketDir,
  resolveSocketDir,
  socketPath,
} from './socket-dir.js';
import type { SocketDirOptions } from './socket-dir.js';
import type { ProcessControl } from './types.js';

export interface ProcessControlServerOptions extends SocketDirOptions {
  /** The pid the socket is named after; default process.pid (the number users type). */
  pid?: number;
  /** Where refused requests and control failures are reported; default: nowhere. */
  log?: Pick<Logger, 'warn' | 'error'>;
  /** Connections open at once; more are closed at once. Default 32. */
  maxConnections?: number;
  /** A connection silent this long with nothing in flight is closed. Default 60 000. */
  idleTimeoutMs?: number;
}

export interface ProcessControlCounters {
  connections: number;
  refusedConnections: number;
  requests: number;
  badRequests: number;
  failedRequests: number;
}

export interface ProcessControlServer {
  readonly pid: number;
  /** The socket file. */
  readonly path: string;
  readonly counters: Readonly<ProcessControlCounters>;
  /** Stops listening, drops connections, removes the socket file. Idempotent. */
  close(): Promise<void>;
}

export async function startProcessControlServer(
  control: ProcessControl,
  options: ProcessControlServerOptions = {},
): Promise<ProcessControlServer> {
  const pid = options.pid ?? process.pid;
  const where = resolveSocketDir(options);
  const path = socketPath(where.dir, pid);
  assertSocketPathFits(path);
  ensureSocketDir(where);
  await removeStaleSocket(path);
  const server = new Server(control, path, pid, options);
  await server.listen();
  return server;
}

/**
 * The file is named after our own pid, so whoever made it is dead (pids are reused) — unless this
 * very process already serves it, which a probe tells.
 */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (await socketAnswers(path)) {
    throw new OsmoError(
      'E_CONFIG',
      `${path} is already served (a second control server for the same pid in one process)`,
    );
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new OsmoError('E_CONFIG', `cannot replace the stale control socket ${path}`, {
        cause: e,
      });
    }
  }
}

class Server implements ProcessControlServer {
  readonly counters: ProcessControlCounters = {
    connections: 0,
    refusedConnections: 0,
    requests: 0,
    badRequests: 0,
    failedRequests: 0,
  };
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Tail of the queue of mutating operations. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private closed: Promise<void> | undefined;
  private readonly onExit = (): void => this.unlink();
  private readonly maxConnections: number;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly control: ProcessControl,
    readonly path: string,
    readonly pid: number,
    private readonly options: ProcessControlServerOptions,
  ) {
    this.maxConnections = options.maxConnections ?? 32;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.server = net.createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void =>
        reject(
          new OsmoError(
            'E_CONFIG',
            `cannot listen on the process control socket ${this.path} (${e.code ?? e.message})`,
            { cause: e },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(this.path, () => {
        this.server.off('error', onError);
        // After start-up an error of the listening socket must not crash the program.
        this.server.on('error', (e) =>
          this.options.log?.error('control socket error', { error: e.message }),
        );
        this.server.unref();
        process.on('exit', this.onExit);
        try {
          // The 0700 directory already keeps others out; 0600 is the second lock.
          chmodSync(this.path, 0o600);
        } catch (e) {
          void this.close();
          onError(e as NodeJS.ErrnoException);
          return;
        }
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      process.off('exit', this.onExit);
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      this.unlink();
    });
    return this.closed;
  }

  private unlink(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: best effort
    }
  }

  private accept(socket: net.Socket): void {
    if (this.sockets.size >= this.maxConnections) {
      this.counters.refusedConnections++;
      socket.destroy();
      return;
    }
    this.counters.connections++;
    this.sockets.add(socket);
    socket.unref();
    const decoder = new LinePayloadDecoder(
      MAX_REQUEST_BYTES,
      MAX_REQUEST_BYTES,
      requestPayloadBytes,
    );
    let inFlight = 0;
    const send = (response: ProcessResponse): void => {
      let line = encodeResponse(response);
      if (Buffer.byteLength(line) > MAX_RESPONSE_BYTES) {
        line = encodeResponse(
          errorResponse(response.id, {
            code: 'E_INTERNAL',
            message: `the answer is larger than ${MAX_RESPONSE_BYTES} bytes`,
          }),
        );
      }
      if (!socket.destroyed && socket.writable) socket.write(line);
    };
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(this.idleTimeoutMs, () => {
      if (inFlight === 0) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const { line, payload } of decoder.push(chunk)) {
        this.counters.requests++;
        const parsed = parseRequest(line, payload);
        if (!parsed.ok) {
          this.counters.badRequests++;
          this.options.log?.warn('bad control request', { error: parsed.error.message });
          send(errorResponse(parsed.id, parsed.error));
          continue;
        }
        const { request } = parsed;
        inFlight++;
        void this.dispatch(request)
          .then(
            (result) => okResponse(request.id, result),
            (e: unknown) => {
              this.counters.failedRequests++;
              return errorResponse(request.id, this.serialize(request, e));
            },
          )
          .then((response) => {
            inFlight--;
            send(response);
          });
      }
      if (decoder.overflow) {
        this.counters.badRequests++;
        this.options.log?.warn('control request too long', { limitBytes: MAX_REQUEST_BYTES });
        socket.removeAllListeners('data');
        const error: SerializedError = {
          code: 'E_PROTO_DECODE',
          message: `request line or its data longer than ${MAX_REQUEST_BYTES} bytes`,
        };
        if (socket.writable)
          socket.end(encodeResponse(errorResponse(0, error)), () => socket.destroy());
        else socket.destroy();
      }
    });
  }

  private dispatch(request: ProcessRequest): Promise<unknown> {
    switch (request.op) {
      case 'info':
        return Promise.resolve().then(() => this.control.info());
      case 'checkpoint':
        return this.serialized(() => this.control.checkpoint(request.file));
      case 'freeze':
        return this.serialized(() => this.control.freeze());
      case 'continue':
        return this.serialized(() => this.control.continue()).then(() => null);
      case 'migrate':
        return this.serialized(() => this.control.migrate(request.to, request.expectedQueue));
      case 'deliver':
        // Never behind a freeze or a move: the mailbox is the deputy's, whatever the program does.
        return Promise.resolve().then(() => {
          if (this.control.deliver === undefined)
            throw new OsmoError('E_NO_PROCESS', `process ${process.pid} has no mailbox`);
          const result = this.control.deliver(
            { home: request.fromHome, pid: request.fromPid },
            request.payload,
          );
          // Tells the sender it may send the next messages raw (line-payloads.ts, saysRawData).
          return { ...result, rawData: true };
        });
    }
  }

  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = this.exclusive.then(run);
    this.exclusive = next.catch(() => undefined);
    return next;
  }

  private serialize(request: ProcessRequest, e: unknown): SerializedError {
    if (isOsmoError(e)) return e.toJSON();
    const message = e instanceof Error ? e.message : String(e);
    this.options.log?.error('process control failed', { op: request.op, error: message });
    return { code: 'E_INTERNAL', message: `${request.op} failed inside the process: ${message}` };
  }
}
