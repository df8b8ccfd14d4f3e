/**
 * The typed client of one process's control socket. It knows the protocol (protocol.ts) and
 * nothing of how a process checkpoints. discovery.ts finds the socket for a pid.
 */
import net from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { OsmoError } from '../core/errors.js';
import { LineDecoder } from '../protocol/json-lines.js';
import { saysRawData, writeLineWithPayload } from '../protocol/line-payloads.js';
import {
  MAX_RESPONSE_BYTES,
  encodeRequest,
  parseDeliverResult,
  parseImageResult,
  parseMigrateResult,
  parseProcessInfo,
  parseResponse,
} from './protocol.js';
import type { ProcessOp, ProcessRequest } from './protocol.js';
import type { DeliverResult, ImageResult, MigrateResult, ProcessInfo } from './types.js';

export interface ClientTimeouts {
  /** Connecting to the socket. Default 2 000. */
  connectTimeoutMs?: number;
  /** `info`: the process answers from memory. Default 5 000. */
  infoTimeoutMs?: number;
  /** checkpoint / freeze / continue write or read a whole image. Default 600 000. */
  imageTimeoutMs?: number;
}

/** Half the server's idle close (server.ts): a kept connection older than this is made anew. */
const KEPT_IDLE_LIMIT_MS = 30_000;

interface Waiter {
  readonly op: ProcessOp;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Opens a Unix socket; rejects with the errno error (ECONNREFUSED, ENOENT…) or ETIMEDOUT. */
export function openSocket(path: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect ${path} timed out`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('error', onError);
  });
}

export class ProcessControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, Waiter>();
  private readonly decoder = new LineDecoder(MAX_RESPONSE_BYTES);
  private broken: OsmoError | undefined;
  private readonly timeouts: Required<ClientTimeouts>;
  private lastActivityMs = Date.now();
  /** The process takes a `deliver`'s payload raw after its line (line-payloads.ts, saysRawData). */
  private rawData = false;

  constructor(
    private readonly socket: net.Socket,
    readonly pid: number,
    readonly path: string,
    timeouts: ClientTimeouts = {},
  ) {
    this.timeouts = {
      connectTimeoutMs: timeouts.connectTimeoutMs ?? 2_000,
      infoTimeoutMs: timeouts.infoTimeoutMs ?? 5_000,
      imageTimeoutMs: timeouts.imageTimeoutMs ?? 600_000,
    };
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined); // 'close' follows and fails what is pending
    socket.on('close', () =>
      this.failAll(
        new OsmoError('E_IO', `process ${pid} closed its control connection (did it just exit?)`),
      ),
    );
  }

  async info(): Promise<ProcessInfo> {
    const result = await this.request({ id: 0, op: 'info' }, this.timeouts.infoTimeoutMs);
    return this.check('info', parseProcessInfo(result));
  }

  /** `file` is resolved against this process's cwd: the target process has its own. */
  async checkpoint(file?: string): Promise<ImageResult> {
    const request: ProcessRequest =
      file === undefined
        ? { id: 0, op: 'checkpoint' }
        : { id: 0, op: 'checkpoint', file: resolvePath(file) };
    const result = await this.request(request, this.timeouts.imageTimeoutMs);
    return this.check('checkpoint', parseImageResult(result));
  }

  async freeze(): Promise<ImageResult> {
    const result = await this.request({ id: 0, op: 'freeze' }, this.timeouts.imageTimeoutMs);
    return this.check('freeze', parseImageResult(result));
  }

  async continue(): Promise<void> {
    await this.request({ id: 0, op: 'continue' }, this.timeouts.imageTimeoutMs);
  }

  /** `expectedQueue`: for a home's balancer (see ProcessControl.migrate). */
  async migrate(to: string, expectedQueue?: number): Promise<MigrateResult> {
    const result = await this.request(
      { id: 0, op: 'migrate', to, ...(expectedQueue !== undefined && { expectedQueue }) },
      this.timeouts.imageTimeoutMs,
    );
    return this.check('migrate', parseMigrateResult(result));
  }

  /**
   * A message for the process's mailbox (ADR 0021), from `from`. The first goes in base64; once
   * the process has answered that it takes raw payloads, the rest go as themselves.
   */
  async deliver(from: { home: string; pid: number }, payload: Buffer): Promise<DeliverResult> {
    const result = await this.request(
      {
        id: 0,
        op: 'deliver',
        fromHome: from.home,
        fromPid: from.pid,
        payload,
        ...(this.rawData && { raw: true }),
      },
      this.timeouts.infoTimeoutMs,
    );
    if (saysRawData(result)) this.rawData = true;
    return this.check('deliver', parseDeliverResult(result));
  }

  /**
   * Whether a kept connection may carry another request: open, and used within the last 30 s —
   * a process closes a connection idle for 60 s, and a request must not cross that close.
   */
  get usable(): boolean {
    return (
      this.broken === undefined &&
      !this.socket.destroyed &&
      Date.now() - this.lastActivityMs < KEPT_IDLE_LIMIT_MS
    );
  }

  /** The connection no longer keeps this process alive (a cache of connections). */
  unref(): void {
    this.socket.unref();
  }

  close(): void {
    this.socket.destroy();
  }

  private request(request: ProcessRequest, timeoutMs: number): Promise<unknown> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    this.lastActivityMs = Date.now();
    const { op } = request;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new OsmoError(
            'E_IO',
            `process ${this.pid} did not answer "${op}" within ${timeoutMs} ms`,
            { details: { reason: 'timeout' } },
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { op, resolve, reject, timer });
      const line = encodeRequest({ ...request, id });
      if (request.op === 'deliver' && request.raw === true)
        writeLineWithPayload(this.socket, line, request.payload);
      else this.socket.write(line);
    });
  }

  private receive(chunk: Buffer): void {
    this.lastActivityMs = Date.now();
    for (const line of this.decoder.push(chunk)) {
      const response = parseResponse(line);
      if (response === undefined) {
        this.breakWith(`process ${this.pid} sent a malformed control response`);
        return;
      }
      const waiter = this.pending.get(response.id);
      if (waiter === undefined) continue; // timed out already
      this.pending.delete(response.id);
      clearTimeout(waiter.timer);
      if (response.ok) waiter.resolve(response.result);
      else waiter.reject(OsmoError.fromJSON(response.error));
    }
    if (this.decoder.overflow) {
      this.breakWith(
        `process ${this.pid} sent a control response longer than ${MAX_RESPONSE_BYTES} bytes`,
      );
    }
  }

  private check<T>(op: ProcessOp, value: T | undefined): T {
    if (value === undefined) {
      throw new OsmoError(
        'E_PROTO_DECODE',
        `process ${this.pid} answered "${op}" with a malformed result`,
      );
    }
    return value;
  }

  private breakWith(message: string): void {
    this.failAll(new OsmoError('E_PROTO_DECODE', message));
    this.socket.destroy();
  }

  private failAll(error: OsmoError): void {
    this.broken ??= error;
    for (const w of this.pending.values()) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.pending.clear();
  }
}
