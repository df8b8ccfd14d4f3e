import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { after, describe, it } from 'node:test';
import type { NodeView, StatsResult, StatusResult } from '../../../src/daemon/control-protocol.js';
import { daemonMetrics } from '../../../src/daemon/metrics.js';
import type { MetricsSource, MoveCount } from '../../../src/daemon/metrics.js';
import { MetricsServer } from '../../../src/daemon/metrics-server.js';
import { NodeFlags } from '../../../src/gossip/types.js';
import { DROP_REASONS } from '../../../src/platform/auth-codec.js';
import type { DropReason } from '../../../src/platform/auth-codec.js';

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return {
    id: name.length,
    name,
    cluster: 'lab',
    address: '127.0.0.1:5301',
    ageMs: 0,
    alive: true,
    self: false,
    speed: 10_000,
    cpus: 2,
    load: 0.5,
    totalMemBytes: 8 << 30,
    freeMemBytes: 3 << 30,
    totalSwapBytes: 0,
    freeSwapBytes: 0,
    guests: 0,
    flags: NodeFlags.acceptingGuests,
    status: ['accepting'],
    ...over,
  };
}

/** A daemon n1 of cluster lab that knows n2 (alive), n3 (silent) and p1 of cluster partner. */
function source(): MetricsSource & { moves: () => MoveCount[]; admitted: number } {
  const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  drops['unknown-key'] = 4;
  const s = {
    admitted: 3,
    status: (): StatusResult => ({
      node: 'n1',
      cluster: 'lab',
      maxAgeMs: 3000,
      gossipIntervalMs: 100,
      uptimeMs: 1000,
      nodes: [
        node('n1', {
          self: true,
          load: 1.25,
          speed: 12_000,
          flags: NodeFlags.acceptingGuests | NodeFlags.native,
        }),
        node('n2'),
        node('n3', { alive: false }),
        node('p1', { cluster: 'partner' }),
      ],
      homeProcesses: 5,
      linkBytesPerSec: { n2: 118e6 },
    }),
    stats: (): StatsResult => ({
      node: 'n1',
      pid: 1,
      uptimeMs: 1000,
      gossip: {
        ticks: 10,
        messagesReceived: 9,
        entriesAccepted: 20,
        entriesStale: 7,
        entriesExpired: 1,
        entriesFromFuture: 0,
        windowsCapped: 0,
        entriesAboutSelf: 9,
        messagesWrongVersion: 0,
      },
      transport: {
        datagramsSent: 10,
        bytesSent: 4000,
        datagramsReceived: 13,
        bytesReceived: 5000,
        sendErrors: 0,
        drops,
      },
      malformed: {},
      windowsCut: 0,
    }),
    guests: () => ({ all: 3, running: 2, native: 1 }),
    moves: (): MoveCount[] => [
      { reason: 'load', ok: true, count: 4 },
      { reason: 'expelled', ok: false, count: 1 },
    ],
    admissions: () => ({ admitted: s.admitted, refused: 2 }),
    mailboxMessages: () => ({ out: { ok: 6, failed: 1 }, in: { ok: 8, failed: 0 } }),
  };
  return s;
}

/** The value of a series in Prometheus's text format, or undefined if it is not there. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('daemon metrics', () => {
  it("tells Prometheus this node's resources, guests, view, moves, admissions and gossip", async () => {
    const s = source();
    const text = await daemonMetrics(s).metrics();
    const expected: [string, number][] = [
      ['osmosis_node_info{node="n1",cluster="lab"}', 1],
      ['osmosis_node_load', 1.25],
      ['osmosis_node_speed', 12_000],
      ['osmosis_node_cpus', 2],
      ['osmosis_node_memory_free_bytes', 3 << 30],
      ['osmosis_node_status{status="accepting"}', 1],
      ['osmosis_node_status{status="blocked"}', 0],
      ['osmosis_node_status{status="native"}', 1],
      ['osmosis_guests{state="running"}', 2],
      ['osmosis_guests{state="arriving"}', 1],
      ['osmosis_guests_native', 1],
      ['osmosis_home_processes', 5],
      ['osmosis_cluster_nodes{cluster="lab",state="alive"}', 2],
      ['osmosis_cluster_nodes{cluster="lab",state="silent"}', 1],
      ['osmosis_cluster_nodes{cluster="partner",state="alive"}', 1],
      ['osmosis_link_bytes_per_second{node="n2"}', 118e6],
      ['osmosis_migrations_total{reason="load",result="ok"}', 4],
      ['osmosis_migrations_total{reason="expelled",result="failed"}', 1],
      ['osmosis_admissions_total{result="admitted"}', 3],
      ['osmosis_admissions_total{result="refused"}', 2],
      ['osmosis_mailbox_messages_total{direction="out",result="ok"}', 6],
      ['osmosis_mailbox_messages_total{direction="out",result="failed"}', 1],
      ['osmosis_mailbox_messages_total{direction="in",result="ok"}', 8],
      ['osmosis_gossip_datagrams_sent_total', 10],
      ['osmosis_gossip_bytes_received_total', 5000],
      ['osmosis_gossip_drops_total{reason="unknown-key"}', 4],
      ['osmosis_gossip_messages_received_total', 9],
      ['osmosis_gossip_entries_total{kind="stale"}', 7],
    ];
    for (const [series, value] of expected) assert.equal(valueOf(text, series), value, series);
    assert.match(text, /^# TYPE osmosis_migrations_total counter$/m);
    assert.match(text, /^# TYPE osmosis_node_load gauge$/m);
    // The daemon process itself, from prom-client's defaults.
    assert.ok(valueOf(text, 'osmosis_daemon_process_resident_memory_bytes')! > 0);

    // Counts kept by the daemon are read again at each scrape, never added up twice.
    s.admitted = 5;
    const again = await daemonMetrics(s).metrics();
    assert.equal(valueOf(again, 'osmosis_admissions_total{result="admitted"}'), 5);
  });

  it('reads the same counts again at every scrape of one registry', async () => {
    const s = source();
    const registry = daemonMetrics(s);
    await registry.metrics();
    s.admitted = 4;
    const text = await registry.metrics();
    assert.equal(valueOf(text, 'osmosis_admissions_total{result="admitted"}'), 4);
    assert.equal(valueOf(text, 'osmosis_migrations_total{reason="load",result="ok"}'), 4);
  });
});

describe('the metrics endpoint', () => {
  const servers: MetricsServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  const get = (
    address: string,
    path: string,
    method = 'GET',
  ): Promise<{ status: number; type: string; body: string }> =>
    new Promise((resolve, reject) => {
      const [host, port] = address.split(':') as [string, string];
      const r = request({ host, port: Number(port), path, method }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            type: String(response.headers['content-type']),
            body,
          }),
        );
      });
      r.on('error', reject);
      r.end();
    });

  it('serves /metrics and nothing else, and names an address it cannot have', async () => {
    const server = await MetricsServer.listen(
      { host: '127.0.0.1', port: 0 },
      daemonMetrics(source()),
    );
    servers.push(server);
    const ok = await get(server.address, '/metrics');
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(valueOf(ok.body, 'osmosis_node_load'), 1.25);
    assert.equal((await get(server.address, '/')).status, 404);
    assert.equal((await get(server.address, '/metrics', 'POST')).status, 405);
    const port = Number(server.address.split(':')[1]);
    await assert.rejects(
      MetricsServer.listen({ host: '127.0.0.1', port }, daemonMetrics(source())),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'E_CONFIG');
        assert.equal(
          e.message,
          `cannot serve metrics on 127.0.0.1:${port}: the address is in use (config metricsListen)`,
        );
        return true;
      },
    );
  });
});

describe("the examples' dashboard and alerts", () => {
  const example = (path: string): string =>
    readFileSync(fileURLToPath(new URL(`../../../../examples/${path}`, import.meta.url)), 'utf8');
  /** Every `expr` anywhere in a parsed JSON or YAML document. */
  const exprsIn = (value: unknown): string[] =>
    Array.isArray(value)
      ? value.flatMap(exprsIn)
      : typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([k, v]) =>
            k === 'expr' && typeof v === 'string' ? [v] : exprsIn(v),
          )
        : [];
  /** The metric names a PromQL expression selects; throws at a syntax error. */
  const metricsOf = (expr: string): string[] => {
    const names: string[] = [];
    promql.parse(expr).iterate({
      enter: (n) => {
        if (n.type.isError) assert.fail(`PromQL syntax error at ${n.from} in: ${expr}`);
        if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector')
          names.push(expr.slice(n.from, n.to));
      },
    });
    return names;
  };

  it('query only series a daemon exports, in valid PromQL', async () => {
    const exported = new Set(
      [...(await daemonMetrics(source()).metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(
        ([, name, type]) =>
          type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    );
    exported.add('up'); // Prometheus's own, per scrape target
    const dashboard = exprsIn(JSON.parse(example('grafana/osmosis-dashboard.json')));
    const alerts = exprsIn(parseYaml(example('prometheus/osmosis-alerts.yml')));
    assert.ok(
      dashboard.length >= 10 && alerts.length >= 4,
      `${dashboard.length}, ${alerts.length}`,
    );
    for (const expr of [...dashboard, ...alerts])
      for (const name of metricsOf(expr)) assert.ok(exported.has(name), `${name} in: ${expr}`);
  });
});
