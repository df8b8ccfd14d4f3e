/**
 * Daemon-to-daemon requests over authenticated TCP links (src/link): one JSON request → one JSON
 * response per link, on the same port as the node's gossip (TCP there, UDP for gossip). The link
 * key comes from the cluster secret, so only nodes of the same cloud are answered.
 *
 * ```
 * request   {"id":1,"op":"admit","args":{…AdmitRequest}}
 * response  {"id":1,"ok":true,"result":{…}} | {"id":1,"ok":false,"error":{"code","message"}}
 * ```
 */
import { OsmoError, isOsmoError } from '../core/errors.js';
import type { SerializedError } from '../core/errors.js';
import { LinkConnection, LinkServer } from '../link/index.js';
import type { Logger } from '../platform/logger.js';
import { payloadArgs, saysRawData } from '../protocol/line-payloads.js';

/** JSON frame type on node links (below 8 belongs to the link itself). */
const JSON_FRAME = 8;
/**
 * A request with raw bytes (a mailbox message): u32 BE length of the JSON request, the request
 * (its args say `dataBytes`), then the bytes. Sent only to a node that answered a request on
 * that link with `rawData: true`; an older node would end the link on a frame it does not know.
 */
const JSON_DATA_FRAME = 9;
const REQUEST_TIMEOUT_MS = 10_000;

/** `payload`: the raw bytes of a request sent with them (JSON_DATA_FRAME). */
export type PeerHandler = (
  op: string,
  args: Record<string, unknown>,
  payload?: Buffer,
) => Promise<unknown>;

interface Envelope {
  id: number;
  op?: string;
  args?: Record<string, unknown>;
  ok?: boolean;
  result?: unknown;
  error?: SerializedError;
}

function parse(payload: Buffer): Envelope | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Envelope;
    return typeof v === 'object' && v !== null && typeof v.id === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

export class PeerService {
  private constructor(private readonly server: LinkServer) {}

  get port(): number {
    return this.server.port;
  }

  static async listen(o: {
    host: string;
    port: number;
    key: Buffer;
    tls: boolean;
    log: Logger;
    handle: PeerHandler;
  }): Promise<PeerService> {
    const server = await LinkServer.listen({
      host: o.host,
      port: o.port,
      key: o.key,
      tls: o.tls,
      onRejected: (remote, error) =>
        o.log.warn(`rejected a node link from ${remote}: ${error.message}`, { peer: remote }),
      onConnection: (link) => {
        link.onFrame((type, frame) => {
          const { request, payload } = requestOf(type, frame);
          if (request?.op === undefined) {
            link.destroy(new OsmoError('E_PROTO_DECODE', 'not a node request'));
            return;
          }
          o.handle(request.op, request.args ?? {}, payload).then(
            (result) => link.send(JSON_FRAME, json({ id: request.id, ok: true, result })),
            (error: unknown) =>
              link.send(
                JSON_FRAME,
                json({
                  id: request.id,
                  ok: false,
                  error: isOsmoError(error)
                    ? error.toJSON()
                    : { code: 'E_INTERNAL', message: String(error) },
                }),
              ),
          );
        });
      },
    });
    return new PeerService(server);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** A request frame's request, and its raw bytes when it has them; no request if malformed. */
function requestOf(type: number, frame: Buffer): { request?: Envelope; payload?: Buffer } {
  if (type === JSON_FRAME) return { request: parse(frame) };
  if (type !== JSON_DATA_FRAME || frame.length < 4) return {};
  const jsonBytes = frame.readUInt32BE(0);
  if (jsonBytes > frame.length - 4) return {};
  const request = parse(frame.subarray(4, 4 + jsonBytes));
  const payload = frame.subarray(4 + jsonBytes);
  // The announced length must be what came: anything else is a confused or hostile peer.
  return request?.args?.dataBytes === payload.length ? { request, payload } : {};
}

/** A request with raw bytes, as the pieces of one JSON_DATA_FRAME (the bytes not copied). */
function dataFrame(request: Envelope, payload: Buffer): Buffer[] {
  const head = json(request);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length, 0);
  return [length, head, payload];
}

/** One request to another node's daemon, on a link of its own (closed once answered). */
export async function askPeer(
  to: { host: string; port: number; name: string },
  key: Buffer,
  tls: boolean,
  op: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  const links = new PeerLinks(key, tls);
  try {
    return await links.ask(to, op, args);
  } finally {
    links.closeAll();
  }
}

/** A kept link to one node and the requests waiting on it. */
interface KeptLink {
  readonly name: string;
  readonly link: Promise<LinkConnection>;
  readonly pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
  nextId: number;
  idle: NodeJS.Timeout | undefined;
  /** The node has said it takes requests with raw bytes (JSON_DATA_FRAME) on this link. */
  rawData: boolean;
}

/** A kept link closes after this long without a request. */
const KEPT_LINK_IDLE_MS = 60_000;

/**
 * Requests to other nodes' daemons on links kept open between them, for requests that come in
 * streams (mailbox messages), where a link per request ({@link askPeer}: an instance used once)
 * would cost a TCP connect and an authentication handshake each. Requests on one link are told
 * apart by their id; a link that ends fails what waits on it and is made anew by the next request.
 */
export class PeerLinks {
  private readonly links = new Map<string, KeptLink>();

  constructor(
    private readonly key: Buffer,
    private readonly tls: boolean,
  ) {}

  /**
   * `data.payload`: bytes that go with the request (a mailbox message): raw in the frame once
   * this node has said it takes them (`rawData` in an answer on this link), else in base64 as
   * `args.data`.
   */
  async ask(
    to: { host: string; port: number; name: string },
    op: string,
    args: Record<string, unknown>,
    data?: { payload: Buffer },
  ): Promise<unknown> {
    let kept = this.keptFor(to);
    let link = await kept.link;
    if (link.state !== 'open') {
      // Closing (idle, or the other end went): a request must not be sent into that.
      this.forget(kept);
      kept = this.keptFor(to);
      link = await kept.link;
    }
    clearTimeout(kept.idle);
    const id = kept.nextId++;
    try {
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          kept.pending.delete(id);
          reject(
            new OsmoError(
              'E_LINK',
              `node ${to.name} did not answer "${op}" within ${REQUEST_TIMEOUT_MS} ms`,
            ),
          );
        }, REQUEST_TIMEOUT_MS);
        const settle =
          <T>(f: (v: T) => void) =>
          (v: T): void => {
            clearTimeout(timer);
            f(v);
          };
        kept.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
        const raw = data !== undefined && kept.rawData;
        const sent = data === undefined ? args : { ...args, ...payloadArgs(data.payload, raw) };
        if (raw) link.send(JSON_DATA_FRAME, dataFrame({ id, op, args: sent }, data.payload));
        else link.send(JSON_FRAME, json({ id, op, args: sent }));
      });
    } finally {
      if (kept.pending.size === 0) {
        clearTimeout(kept.idle);
        const idle = kept;
        kept.idle = setTimeout(() => {
          this.forget(idle);
          link.close();
        }, KEPT_LINK_IDLE_MS);
        kept.idle.unref();
      }
    }
  }

  closeAll(): void {
    for (const kept of this.links.values()) {
      clearTimeout(kept.idle);
      void kept.link.then(
        (l) => l.close(),
        () => undefined,
      );
    }
    this.links.clear();
  }

  /** No new request goes to this link (it is closing, or closed). */
  private forget(kept: KeptLink): void {
    if (this.links.get(kept.name) === kept) this.links.delete(kept.name);
    clearTimeout(kept.idle);
  }

  private keptFor(to: { host: string; port: number; name: string }): KeptLink {
    const name = `${to.name}@${to.host}:${to.port}`;
    const existing = this.links.get(name);
    if (existing !== undefined) return existing;
    const link = LinkConnection.connect({
      host: to.host,
      port: to.port,
      key: this.key,
      tls: this.tls,
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const kept: KeptLink = {
      name,
      link,
      pending: new Map(),
      nextId: 1,
      idle: undefined,
      rawData: false,
    };
    this.links.set(name, kept);
    const forget = (error: Error): void => {
      this.forget(kept);
      for (const w of kept.pending.values()) w.reject(error);
      kept.pending.clear();
    };
    link.then(
      (l) => {
        l.onFrame((type, payload) => {
          const response = type === JSON_FRAME ? parse(payload) : undefined;
          const waiter = response === undefined ? undefined : kept.pending.get(response.id);
          if (response === undefined || waiter === undefined) return;
          kept.pending.delete(response.id);
          if (saysRawData(response.result)) kept.rawData = true;
          if (response.ok === true) waiter.resolve(response.result);
          else
            waiter.reject(
              OsmoError.fromJSON(
                response.error ?? { code: 'E_PROTO_DECODE', message: 'malformed answer' },
              ),
            );
        });
        void l.closed.then((error) =>
          forget(
            error ?? new OsmoError('E_LINK', `node ${to.name} closed the link before answering`),
          ),
        );
      },
      (error: unknown) =>
        forget(error instanceof Error ? error : new OsmoError('E_LINK', String(error))),
    );
    return kept;
  }
}
