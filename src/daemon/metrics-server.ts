/**
 * The HTTP endpoint Prometheus scrapes (config `metricsListen`): GET /metrics, nothing else. It
 * has no authentication, as is usual for exporters: bind it to loopback or a management network
 * (docs/daemon.md "Metrics").
 */
import http from 'node:http';
import type { Registry } from 'prom-client';
import { OsmoError } from '../core/errors.js';
import { formatHostPort } from '../platform/address.js';
import type { HostPort } from '../platform/address.js';

export class MetricsServer {
  private constructor(
    private readonly server: http.Server,
    /** host:port actually listened on (port 0 in the config: the one the kernel chose). */
    readonly address: string,
  ) {}

  /** Listens on `at`; rejects with E_CONFIG naming the address if it cannot. */
  static listen(at: HostPort, registry: Registry): Promise<MetricsServer> {
    const server = http.createServer((request, response) => {
      void answer(registry, request, response);
    });
    // A slow or idle client holds nothing for long.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    return new Promise((resolve, reject) => {
      const failed = (e: NodeJS.ErrnoException): void => {
        const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.message;
        reject(
          new OsmoError(
            'E_CONFIG',
            `cannot serve metrics on ${formatHostPort(at)}: ${why} (config metricsListen)`,
            { cause: e },
          ),
        );
      };
      server.once('error', failed);
      server.listen({ host: at.host, port: at.port }, () => {
        server.off('error', failed);
        const bound = server.address() as { port: number };
        resolve(new MetricsServer(server, formatHostPort({ host: at.host, port: bound.port })));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function answer(
  registry: Registry,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const path = (request.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics') {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics is here\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end();
    return;
  }
  try {
    const text = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType });
    response.end(request.method === 'HEAD' ? undefined : text);
  } catch (error) {
    response
      .writeHead(500, { 'content-type': 'text/plain' })
      .end(`${error instanceof Error ? error.message : String(error)}\n`);
  }
}
