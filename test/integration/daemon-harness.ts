/**
 * Real daemons on 127.0.0.1 for integration tests: free ports chosen at run time, state in a
 * scratch dir, logs captured line by line so tests wait for a log line (with a deadline) instead
 * of sleeping, and every started process killed by `stopAll`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fixture, makeScratch, osmo, osmoBin, removeScratch, repoRoot } from '../helpers/osmo.js';
import type { RunResult } from '../helpers/osmo.js';
import type { ProcessInfo } from '../../src/process-control/types.js';
import type { StatusResult } from '../../src/daemon/control-protocol.js';
import type { Topology } from '../helpers/netns.js';
import { freeUdpPorts } from '../helpers/ports.js';

export { freeUdpPorts };

export function writeSecret(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text + '\n', { mode: 0o600 });
  return path;
}

export interface LogLine {
  readonly msg?: string;
  readonly [k: string]: unknown;
}

export class DaemonProcess {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  readonly name: string;
  readonly port: number;
  readonly socket: string;

  constructor(
    /** What it was started with: `cluster.start(d.options)` starts it again. */
    readonly options: StartOptions,
    readonly child: ChildProcess,
  ) {
    this.name = options.name;
    this.port = options.port;
    this.socket = join(options.dir, `${options.name}.sock`);
    let pending = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      }),
    );
  }

  /** Resolves with the first log line matching, or rejects at the deadline (with the log). */
  waitForLog(match: (l: LogLine) => boolean, deadlineMs: number, what: string): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.name}: no log line "${what}" within ${deadlineMs} ms; log:\n${this.raw.slice(-30).join('\n')}`,
          ),
        );
      }, deadlineMs);
      const check = (): void => {
        const hit = this.lines.find(match);
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

export interface StartOptions {
  readonly name: string;
  readonly port: number;
  readonly peers: readonly number[];
  readonly secretFile: string;
  readonly dir: string;
  readonly intervalMs?: number;
  readonly maxAgeMs?: number;
  readonly extra?: readonly string[];
  /** Extra environment (inherited by the daemon's guest runners, e.g. OSMOSIS_FAULT). */
  readonly env?: NodeJS.ProcessEnv;
  /** Address to listen on (default 127.0.0.1); peers are then `peerHosts[i]:peers[i]`. */
  readonly host?: string;
  readonly peerHosts?: readonly string[];
  /** Run inside this network namespace (a host of its own). */
  readonly netns?: string;
}

export function daemonArgs(o: StartOptions): string[] {
  return [
    'daemon',
    '--name',
    o.name,
    '--listen',
    `${o.host ?? '127.0.0.1'}:${o.port}`,
    ...(o.peers.length > 0
      ? ['--peers', o.peers.map((p, i) => `${o.peerHosts?.[i] ?? '127.0.0.1'}:${p}`).join(',')]
      : []),
    '--cluster',
    'lab',
    '--secret-file',
    o.secretFile,
    '--state-dir',
    join(o.dir, `state-${o.name}`),
    '--control-socket',
    join(o.dir, `${o.name}.sock`),
    '--gossip-interval-ms',
    String(o.intervalMs ?? 100),
    '--max-age-ms',
    String(o.maxAgeMs ?? 3000),
    '--drop-log-interval-ms',
    '300',
    '--speed',
    '10000',
    // A test run killed outright (a timeout's SIGKILL) leaves no daemon behind.
    '--stop-with-parent',
    ...(o.extra ?? []),
  ];
}

export class Cluster {
  readonly daemons: DaemonProcess[] = [];

  /** The last `lines` log lines of every daemon (and its runners), for a failing test's report. */
  logTails(lines = 25): string {
    return this.daemons.map((d) => `--- ${d.name}\n${d.raw.slice(-lines).join('\n')}`).join('\n');
  }

  start(o: StartOptions): DaemonProcess {
    const argv = [
      ...(o.netns === undefined ? [] : ['ip', 'netns', 'exec', o.netns]),
      process.execPath,
      osmoBin,
      ...daemonArgs(o),
    ];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: repoRoot,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const d = new DaemonProcess(o, child);
    this.daemons.push(d);
    return d;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.daemons.map(async (d) => {
        if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
        await d.exited;
      }),
    );
  }
}

/**
 * Flags for nodes that share this one host and balance quickly: each counts its Osmosis programs
 * as its load (the kernel's run queue is the host's), one CPU each, decisions every 300 ms.
 */
export const ONE_HOST_BALANCING: readonly string[] = [
  '--cpus',
  '1',
  '--load-source',
  'osmosis',
  '--load-sample-interval-ms',
  '200',
  '--balance-interval-ms',
  '300',
  '--min-residency-ms',
  '600',
];

/** One node of {@link startNodes}. */
export interface NodeSpec {
  /** Default n1, n2, … by position. */
  readonly name?: string;
  readonly extra?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export interface NodesSpec {
  readonly dir: string;
  /** The cluster secret (written to `dir`/secret, mode 0600). */
  readonly secret: string;
  /** The nodes, or how many (named n1, n2, …). */
  readonly nodes: number | readonly NodeSpec[];
  /** Flags every node gets before its own. */
  readonly extra?: readonly string[];
  /** Each node a host of its own (a namespace, port 5301 at its address) instead of loopback. */
  readonly topology?: Topology;
}

/**
 * Starts a cluster whose nodes all know each other (each lists all as peers), in order, and
 * returns them; `untilSeesAlive` tells when they found each other.
 */
export async function startNodes(cluster: Cluster, spec: NodesSpec): Promise<DaemonProcess[]> {
  const nodes = typeof spec.nodes === 'number' ? Array<NodeSpec>(spec.nodes).fill({}) : spec.nodes;
  const secretFile = writeSecret(spec.dir, 'secret', spec.secret);
  const topology = spec.topology;
  const ports = topology === undefined ? await freeUdpPorts(nodes.length) : nodes.map(() => 5301);
  return nodes.map((node, i) =>
    cluster.start({
      name: node.name ?? `n${i + 1}`,
      port: ports[i]!,
      peers: ports,
      secretFile,
      dir: spec.dir,
      extra: [...(spec.extra ?? []), ...(node.extra ?? [])],
      ...(node.env === undefined ? {} : { env: node.env }),
      ...(topology === undefined
        ? {}
        : {
            host: topology.addresses[i]!,
            peerHosts: topology.addresses,
            netns: topology.hosts[i]!,
          }),
    }),
  );
}

export async function status(socket: string): Promise<StatusResult | undefined> {
  const r = await osmo(['status', '--json', '--daemon', socket], { deadlineMs: 10_000 });
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout.toString('utf8')) as StatusResult;
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  deadlineMs: number,
  what: string,
  pollMs = 100,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `not within ${deadlineMs} ms: ${what}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * A cluster and a scratch directory for the enclosing describe block: the directory is made
 * before its tests, and after them every daemon is killed and the directory removed.
 */
export function clusterForSuite(): { cluster: Cluster; dir: () => string } {
  const cluster = new Cluster();
  let dir = '';
  before(() => {
    dir = makeScratch();
  });
  after(async () => {
    await cluster.stopAll();
    removeScratch(dir);
  });
  return { cluster, dir: () => dir };
}

/** An `osmo run` of stdin_wait (test/fixtures: prints "ready", then waits for one line). */
export interface WaitingProgram {
  readonly child: ChildProcess;
  readonly done: Promise<RunResult>;
}

/**
 * Starts `osmo run ARGS… stdin_wait` and resolves once it waits for its line: a program that
 * stays put (running, blocked in a read) until the test writes to its stdin.
 */
export async function startWaiting(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<WaitingProgram> {
  let child: ChildProcess | undefined;
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const done = osmo(['run', ...args, fixture('stdin_wait')], {
    env,
    deadlineMs: 90_000,
    onSpawn: (c) => (child = c),
    onStdout: (chunk) => {
      if (chunk.toString().includes('ready')) ready();
    },
  });
  await isReady;
  return { child: child!, done };
}

/** Where `osmo ps` through the daemon at `socket` says process `pid` (of `home`, if given) runs. */
export async function whereIs(
  socket: string,
  env: NodeJS.ProcessEnv,
  pid: number,
  home?: string,
): Promise<string | undefined> {
  const r = await osmo(['ps', '--json', '--daemon', socket], { env });
  const list = (JSON.parse(r.stdout.toString()) as { processes: ProcessInfo[] }).processes;
  return list.find((p) => p.pid === pid && (home === undefined || p.home === home))?.where;
}

/** Resolves with the status of the daemon at `socket` once it sees `count` live nodes. */
export function untilSeesAlive(
  socket: string,
  count: number,
  what: string,
  deadlineMs = 20_000,
): Promise<StatusResult> {
  return until(
    async () => {
      const s = await status(socket);
      return s !== undefined && s.nodes.filter((n) => n.alive).length === count ? s : undefined;
    },
    deadlineMs,
    what,
  );
}
