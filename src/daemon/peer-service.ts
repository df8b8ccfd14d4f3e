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

/** JSON frame type on node links (below 8 belongs to the link itself). */
const JSON_FRAME = 8;
const REQUEST_TIMEOUT_MS = 10_000;

export type PeerHandler = (op: string, args: Record<string, unknown>) => Promise<unknown>;

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
        link.onFrame((type, payload) => {
          const request = type === JSON_FRAME ? parse(payload) : undefined;
          if (request?.op === undefined) {
            link.destroy(new OsmoError('E_PROTO_DECODE', 'not a node request'));
            return;
          }
          o.handle(request.op, request.args ?? {}).then(
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

/** One request to another node's daemon, on a link of its own. */
export async function askPeer(
  to: { host: string; port: number; name: string },
  key: Buffer,
  tls: boolean,
  op: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  const link = await LinkConnection.connect({
    host: to.host,
    port: to.port,
    key,
    tls,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new OsmoError(
              'E_LINK',
              `node ${to.name} did not answer "${op}" within ${REQUEST_TIMEOUT_MS} ms`,
            ),
          ),
        REQUEST_TIMEOUT_MS,
      );
      link.onFrame((type, payload) => {
        const response = type === JSON_FRAME ? parse(payload) : undefined;
        if (response?.id !== 1) return;
        clearTimeout(timer);
        if (response.ok === true) resolve(response.result);
        else
          reject(
            OsmoError.fromJSON(
              response.error ?? { code: 'E_PROTO_DECODE', message: 'malformed answer' },
            ),
          );
      });
      void link.closed.then((error) => {
        clearTimeout(timer);
        reject(
          error ?? new OsmoError('E_LINK', `node ${to.name} closed the link before answering`),
        );
      });
      link.send(JSON_FRAME, json({ id: 1, op, args }));
    });
  } finally {
    link.close();
  }
}
