/**
 * The `osmo mon` screen, on ink (React for terminals; ADR 0005). Written with
 * `React.createElement` so the project needs no JSX setup. Data comes only through the control
 * client; the layout fits 80×24 and scrolls when the cluster has more nodes than rows.
 */
import { Box, Text, render, useApp, useInput, useStdout } from 'ink';
import React, { useEffect, useState } from 'react';
import { ControlClient } from '../../daemon/control-client.js';
import type { MigrationEvent, NodeView, StatusResult } from '../../daemon/control-protocol.js';
import { REFERENCE_SPEED, utilisation } from '../../daemon/measure/load.js';
import { bar, formatAge, formatBytes, formatLoad, pad } from './format.js';
import { counted } from '../../core/counted.js';

const h = React.createElement;

export type View = 'load' | 'memory' | 'speed' | 'utilisation';

export const VIEW_KEYS: Record<string, View> = {
  l: 'load',
  m: 'memory',
  s: 'speed',
  u: 'utilisation',
};

export interface MonitorOptions {
  readonly socket: string;
  readonly refreshMs: number;
}

/** The bar fraction and value text of one node in one view (pure; used by tests). */
export function viewCell(
  view: View,
  n: NodeView,
  all: readonly NodeView[],
): { fraction: number; text: string } {
  switch (view) {
    case 'load': {
      const scale = Math.max(1, ...all.map((x) => x.load));
      return { fraction: n.load / scale, text: formatLoad(n.load) };
    }
    case 'memory': {
      const used = Math.max(0, n.totalMemBytes - n.freeMemBytes);
      return {
        fraction: n.totalMemBytes > 0 ? used / n.totalMemBytes : 0,
        text: `${formatBytes(used)}/${formatBytes(n.totalMemBytes)}`,
      };
    }
    case 'speed': {
      const scale = Math.max(REFERENCE_SPEED, ...all.map((x) => x.speed));
      return { fraction: n.speed / scale, text: String(n.speed) };
    }
    case 'utilisation': {
      const u = utilisation(n.load, n.speed);
      return { fraction: u, text: `${Math.round(u * 100)}%` };
    }
  }
}

const HELP_LINES = [
  'osmo mon — live view of the cluster, from the local daemon',
  '',
  '  l   load view: per-processor load, reference-processor units',
  '  m   memory view: used / total memory',
  '  s   speed view: CPU speed (10 000 = reference processor)',
  '  u   utilisation view: share of processors busy',
  '  d   show or hide dead nodes (not heard from for maxAgeMs)',
  '  ↑/↓ scroll when there are more nodes than rows',
  '  h   this help (any key returns)',
  '  q   quit',
  '',
  'Columns: SPD speed, CPU processors, USED/FREE memory, G guests,',
  'STATUS accepting or blocked (guests), draining, reserved, dead.',
];

function Monitor({ options }: { options: MonitorOptions }): React.ReactElement {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [status, setStatus] = useState<StatusResult | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [view, setView] = useState<View>('load');
  const [showDead, setShowDead] = useState(false);
  const [help, setHelp] = useState(false);
  const [scroll, setScroll] = useState(0);
  const [size, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });

  useEffect(() => {
    const onResize = (): void =>
      setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  useEffect(() => {
    let client: ControlClient | undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const poll = async (): Promise<void> => {
      try {
        client ??= await ControlClient.connect(options.socket);
        const s = await client.request('status');
        if (!stopped) {
          setStatus(s);
          setError(undefined);
        }
      } catch (e) {
        client?.close();
        client = undefined;
        if (!stopped) setError(e instanceof Error ? e.message : String(e));
      }
      if (!stopped) timer = setTimeout(() => void poll(), options.refreshMs);
    };
    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      client?.close();
    };
  }, [options.socket, options.refreshMs]);

  useInput((input, key) => {
    if (help) {
      setHelp(false);
      return;
    }
    if (input === 'q' || (key.ctrl && input === 'c')) exit();
    else if (input === 'h' || input === '?') setHelp(true);
    else if (input === 'd') setShowDead((v) => !v);
    else if (VIEW_KEYS[input] !== undefined) setView(VIEW_KEYS[input]);
    else if (key.upArrow) setScroll((v) => Math.max(0, v - 1));
    else if (key.downArrow) setScroll((v) => v + 1);
  });

  const width = Math.max(60, size.columns);
  if (help)
    return h(Box, { flexDirection: 'column' }, ...HELP_LINES.map((l, i) => h(Text, { key: i }, l)));

  const nodes = status?.nodes ?? [];
  const active = nodes.filter((n) => n.alive).length;
  const rows = nodes.filter((n) => n.alive || showDead);
  // The flow: this home's latest automatic migrations, newest first.
  const flow = (status?.migrations ?? []).slice(-FLOW_LINES).reverse();
  const room = Math.max(1, size.rows - 5 - flow.length);
  const first = Math.min(scroll, Math.max(0, rows.length - room));
  const visible = rows.slice(first, first + room);
  // Fixed columns: name 10, value 11, SPD 6, CPU 4, USED 6, FREE 6, G 3, STATUS 9, gaps 9.
  const barWidth = Math.max(8, width - 64 - 1);

  const header = `osmo mon · ${status?.cluster ?? '?'} · from ${status?.node ?? '?'} · ${counted(active, 'active node')}${nodes.length > active ? `, ${nodes.length - active} dead` : ''} · view: ${view}`;
  const columns = `${pad('NODE', 10)} ${pad(view.toUpperCase(), barWidth)} ${pad('', 11)} ${pad('SPD', 6, true)} ${pad('CPU', 4, true)} ${pad('USED', 6, true)} ${pad('FREE', 6, true)} ${pad('G', 3, true)} STATUS`;
  const lines = visible.map((n) => {
    const cell = viewCell(view, n, nodes);
    const used = Math.max(0, n.totalMemBytes - n.freeMemBytes);
    const st = n.alive ? (n.status[0] ?? '') : `dead ${formatAge(n.ageMs)}`;
    const text = `${pad(n.name + (n.self ? '*' : ''), 10)} ${bar(cell.fraction, barWidth)} ${pad(cell.text, 11, true)} ${pad(String(n.speed), 6, true)} ${pad(String(n.cpus), 4, true)} ${pad(formatBytes(used), 6, true)} ${pad(formatBytes(n.freeMemBytes), 6, true)} ${pad(String(n.guests), 3, true)} ${pad(st, 9)}`;
    return h(
      Text,
      { key: n.id, dimColor: !n.alive, color: n.self ? 'cyan' : undefined, wrap: 'truncate' },
      text,
    );
  });
  const more =
    rows.length > visible.length
      ? ` · rows ${first + 1}-${first + visible.length} of ${rows.length} (↑/↓)`
      : '';
  const footer = `[l]oad [m]emory [s]peed [u]til  [d]ead:${showDead ? 'on' : 'off'}  [h]elp [q]uit${more}`;
  return h(
    Box,
    { flexDirection: 'column', width },
    h(Text, { bold: true, wrap: 'truncate' }, header),
    error !== undefined
      ? h(Text, { color: 'red', wrap: 'truncate' }, `daemon: ${error}`)
      : h(Text, { dimColor: true, wrap: 'truncate' }, columns),
    ...lines,
    ...flow.map((m, i) =>
      h(
        Text,
        { key: `flow-${i}`, color: m.result === 'ok' ? 'green' : 'red', wrap: 'truncate' },
        formatMigration(m, status?.uptimeMs ?? m.atMs),
      ),
    ),
    status === undefined && error === undefined ? h(Text, {}, 'waiting for the daemon…') : null,
    h(Text, { dimColor: true, wrap: 'truncate' }, footer),
  );
}

/** How many of the home's latest migrations the monitor shows under the nodes. */
const FLOW_LINES = 3;

/** "↪ 3s ago  pid 4242  n1 → n3  load" (or the failure). */
export function formatMigration(m: MigrationEvent, uptimeMs: number): string {
  const outcome = m.result === 'ok' ? '' : `  failed: ${m.result}`;
  return `↪ ${formatAge(Math.max(0, uptimeMs - m.atMs))} ago  pid ${m.pid}  ${m.from} → ${m.to}  ${m.reason}${outcome}`;
}

export async function runMonitor(options: MonitorOptions): Promise<void> {
  const instance = render(h(Monitor, { options }), { exitOnCtrlC: false, patchConsole: false });
  await instance.waitUntilExit();
}
