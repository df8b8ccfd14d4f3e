/**
 * The demo's four nodes: real `osmo daemon` processes on 127.0.0.1, each with its own state
 * directory, control socket and log file, and (when confined) its own CPU cgroup.
 */
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ControlClient } from '../../daemon/control-client.js';
import type { StatusResult } from '../../daemon/control-protocol.js';
import type { CpuConfinement } from './cgroup.js';
import type { ProcessSet, Started } from './processes.js';
import { DemoFailure, throwIfAborted } from './failure.js';

/**
 * What every demo daemon is told besides who it is and where: one CPU each; its load is the number
 * of Osmosis programs it runs (all four share one kernel, so the host's run queue would be the
 * same everywhere); the automatic balancer on or off. The rest suits four nodes on loopback and a
 * run of seconds: gossip twice a second and load samples four times (a node's load then settles
 * within a second of a move instead of four), and a seed probed one round in five, so two pairs
 * of nodes that found each other first do not stay apart for long. Faster gossip would not help:
 * a move stays pending for two gossip intervals and four load samples, about as long as a
 * node's advertised load takes to catch up with it.
 */
export const DEMO_DAEMON_FLAGS = (balance: boolean): string[] => [
  // A demo killed outright (SIGKILL: no cleanup) leaves no daemon behind.
  '--stop-with-parent',
  '--cpus',
  '1',
  '--load-source',
  'osmosis',
  '--balance',
  String(balance),
  '--gossip-interval-ms',
  '500',
  '--load-sample-interval-ms',
  '250',
  '--any-node-probability',
  '0.2',
];

export interface NodeSpec {
  readonly name: string;
  readonly port: number;
  readonly speed: number;
  /** CPU quota when confined. */
  readonly cpuShare: number | undefined;
}

export interface DemoNode {
  readonly spec: NodeSpec;
  readonly process: Started;
  readonly socket: string;
  readonly logFile: string;
}

export interface ClusterOptions {
  /** This run's directory (state dirs, sockets and logs of its nodes go inside). */
  readonly dir: string;
  readonly secretFile: string;
  readonly nodes: readonly NodeSpec[];
  readonly balance: boolean;
  readonly processes: ProcessSet;
  readonly confinement: CpuConfinement | undefined;
  /** `[node, bin/osmo.js]`. */
  readonly osmo: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/**
 * `: <the last line of a log>` for an error message — its `msg` if it is a JSON log line — or
 * nothing when the log is empty or missing.
 */
export function lastLogLine(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const last = text.trimEnd().split('\n').filter(Boolean).at(-1);
  if (last === undefined) return '';
  try {
    const parsed = JSON.parse(last) as { msg?: unknown };
    if (typeof parsed.msg === 'string') return `: ${parsed.msg}`;
  } catch {
    // plain text (e.g. a usage error)
  }
  return `: ${last.replace(/^osmo: /, '')}`;
}

export class DemoCluster {
  private constructor(
    readonly nodes: readonly DemoNode[],
    private readonly o: ClusterOptions,
  ) {}

  static start(o: ClusterOptions): DemoCluster {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const peers = o.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
    const nodes = o.nodes.map((spec) => {
      const socket = join(o.dir, `${spec.name}.sock`);
      const logFile = join(o.dir, `${spec.name}.log`);
      const log = openSync(logFile, 'a', 0o600);
      let started: Started;
      try {
        started = o.processes.spawn(
          `node ${spec.name}`,
          [
            ...o.osmo,
            'daemon',
            '--name',
            spec.name,
            '--listen',
            `127.0.0.1:${spec.port}`,
            '--peers',
            peers,
            '--cluster',
            'demo',
            '--secret-file',
            o.secretFile,
            '--state-dir',
            join(o.dir, spec.name),
            '--control-socket',
            socket,
            '--speed',
            String(spec.speed),
            ...DEMO_DAEMON_FLAGS(o.balance),
          ],
          { env: o.env, cwd: o.dir, stdio: ['ignore', 'ignore', log] },
        );
      } finally {
        closeSync(log);
      }
      // At once: the daemon forks its spare guest runners only after it has loaded (tens of ms),
      // and they inherit the group.
      o.confinement?.add(spec.name, started.pid);
      return { spec, process: started, socket, logFile };
    });
    return new DemoCluster(nodes, o);
  }

  get home(): DemoNode {
    return this.nodes[0]!;
  }

  pids(): number[] {
    return this.nodes.map((n) => n.process.pid);
  }

  /** A node whose daemon has exited, if any. */
  deadNode(): DemoNode | undefined {
    return this.nodes.find(
      (n) => n.process.child.exitCode !== null || n.process.child.signalCode !== null,
    );
  }

  failureOf(node: DemoNode, when: string): DemoFailure {
    const c = node.process.child;
    // A node killed by a signal said nothing about it; one that exited said why, last.
    return new DemoFailure(
      c.signalCode !== null
        ? `node ${node.spec.name} ${when} (killed by ${c.signalCode})`
        : `node ${node.spec.name} ${when} (exit status ${c.exitCode})${lastLogLine(node.logFile)}`,
    );
  }

  /**
   * Resolves with the home node's status once it sees every node alive; fails naming the nodes
   * missing at the deadline, or a node whose daemon exited.
   */
  async waitAlive(deadlineMs: number, signal: AbortSignal): Promise<StatusResult> {
    const end = Date.now() + deadlineMs;
    const names = this.nodes.map((n) => n.spec.name);
    let last: StatusResult | undefined;
    let lastError = '';
    for (;;) {
      throwIfAborted(signal);
      const dead = this.deadNode();
      if (dead !== undefined) throw this.failureOf(dead, 'failed to start');
      try {
        const client = await ControlClient.connect(this.home.socket, 1000);
        try {
          last = await client.request('status', 1000);
        } finally {
          client.close();
        }
        const alive = new Set(last.nodes.filter((n) => n.alive).map((n) => n.name));
        if (names.every((n) => alive.has(n))) return last;
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
      if (Date.now() >= end) {
        const alive = new Set(last?.nodes.filter((n) => n.alive).map((n) => n.name) ?? []);
        const missing = names.filter((n) => !alive.has(n));
        throw new DemoFailure(
          last === undefined
            ? `node ${this.home.spec.name} did not answer on ${this.home.socket} within ${deadlineMs / 1000} s (${lastError})`
            : `the cluster did not come up within ${deadlineMs / 1000} s: ${this.home.spec.name} does not see ${missing.join(', ')}`,
        );
      }
      await delay(100);
    }
  }

  /**
   * Stops the nodes: first the guest runners they forked (still their children, so they are
   * reaped), then the daemons — SIGTERM, SIGKILL after 3 s.
   */
  async stop(): Promise<void> {
    const runners = this.o.processes.adoptDescendants(this.pids());
    await this.o.processes.terminate(runners);
    await this.o.processes.terminate(this.pids());
  }
}
