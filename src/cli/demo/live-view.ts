/**
 * The demo on a terminal: event lines scroll above (ink's Static), and below them a screen of the
 * nodes (load bar, speed, CPU share, jobs, guests) and the jobs (where, state, CPU, the nodes they
 * went through) is redrawn in place. ink and React are loaded only here, unbundled, like
 * `osmo mon` (ADR 0005); the number formats and bars are mon's.
 */
import { Box, Static, Text, render, useStdout } from 'ink';
import React, { useEffect, useState } from 'react';
import { bar, formatLoad, pad } from '../mon/format.js';
import type { DemoSnapshot, DemoStore, JobRow } from './model.js';
import { jobsPerNode, seconds } from './model.js';
import { counted } from '../../core/counted.js';

const h = React.createElement;

interface Feed {
  lines: string[];
  listeners: Set<() => void>;
}

function jobRow(j: JobRow, width: number): string {
  const cpu = j.reportedCpuSec !== undefined ? `${j.reportedCpuSec.toFixed(1)}s` : seconds(j.cpuMs);
  const state = j.state === 'done' ? `done ${seconds(j.endedMs ?? 0)}` : j.state;
  const trail = j.trail.join('→');
  const text = `${pad(String(j.id), 4, true)}  ${pad(j.program, 8)} ${pad(j.where, 6)} ${pad(state, 12)} ${pad(cpu, 6, true)}  ${trail}`;
  return text.length > width ? text.slice(0, width - 1) + '…' : text;
}

function Screen({ store, feed }: { store: DemoStore; feed: Feed }): React.ReactElement {
  const { stdout } = useStdout();
  const [snap, setSnap] = useState<DemoSnapshot>(store.snapshot);
  const [lines, setLines] = useState<string[]>([...feed.lines]);
  useEffect(() => store.subscribe(setSnap), [store]);
  useEffect(() => {
    const l = (): void => setLines([...feed.lines]);
    feed.listeners.add(l);
    return () => {
      feed.listeners.delete(l);
    };
  }, [feed]);

  const width = Math.max(60, (stdout.columns || 80) - 1);
  const rows = stdout.rows || 24;
  const per = jobsPerNode(snap.jobs);
  const maxLoad = Math.max(1, ...snap.nodes.map((n) => n.load ?? 0));
  const barWidth = Math.max(8, width - 52);
  const room = Math.max(1, rows - snap.nodes.length - 8);
  const jobs = snap.jobs.slice(0, room);
  const more = snap.jobs.length - jobs.length;
  const done = snap.jobs.filter((j) => j.state === 'done').length;
  const title = `osmo demo · ${snap.phase}${snap.run === undefined ? '' : ` · t=${seconds(snap.elapsedMs)} · ${done}/${snap.jobs.length} done · ${counted(snap.migrations, 'migration')}`}`;
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static, {
      items: lines,
      children: (line: unknown, i: number) => h(Text, { key: i, wrap: 'truncate' }, String(line)),
    }),
    h(Text, { bold: true, wrap: 'truncate' }, title),
    h(
      Text,
      { dimColor: true, wrap: 'truncate' },
      `${pad('NODE', 5)} ${pad('LOAD', barWidth)} ${pad('', 7, true)} ${pad('SPEED', 6, true)} ${pad('CPU', 5, true)} ${pad('JOBS', 5, true)} ${pad('GUESTS', 7, true)}`,
    ),
    ...snap.nodes.map((n) =>
      h(
        Text,
        { key: n.name, wrap: 'truncate', dimColor: !n.alive },
        `${pad(n.name, 5)} ${bar((n.load ?? 0) / maxLoad, barWidth)} ${pad(n.load === undefined ? '?' : formatLoad(n.load), 7, true)} ${pad(String(n.speed), 6, true)} ${pad(n.cpuShare === undefined ? '-' : String(n.cpuShare), 5, true)} ${pad(String(per.get(n.name) ?? 0), 5, true)} ${pad(n.guests === undefined ? '?' : String(n.guests), 7, true)}`,
      ),
    ),
    h(
      Text,
      { dimColor: true, wrap: 'truncate' },
      `${pad('JOB', 4, true)}  ${pad('PROGRAM', 8)} ${pad('WHERE', 6)} ${pad('STATE', 12)} ${pad('CPU', 6, true)}  PATH`,
    ),
    ...jobs.map((j) =>
      h(
        Text,
        {
          key: `j${j.id}`,
          wrap: 'truncate',
          color: j.state === 'failed' ? 'red' : j.where !== j.trail[0] ? 'cyan' : undefined,
          dimColor: j.state === 'done',
        },
        jobRow(j, width),
      ),
    ),
    more > 0 ? h(Text, { dimColor: true }, `… ${more} more jobs`) : null,
  );
}

export interface LiveView {
  line(text: string): void;
  stop(): Promise<void>;
}

export function startLiveView(store: DemoStore): LiveView {
  const feed: Feed = { lines: [], listeners: new Set() };
  const instance = render(h(Screen, { store, feed }), {
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return {
    line(text: string): void {
      feed.lines.push(text);
      for (const l of feed.listeners) l();
    },
    async stop(): Promise<void> {
      // Let the last state render before the screen is taken down.
      await new Promise((r) => setTimeout(r, 50));
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
