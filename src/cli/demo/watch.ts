/**
 * Watches a run: every `intervalMs` it asks the home node's daemon for the cluster's status (load,
 * guests per node) and the jobs' processes for where they run (the same source as `osmo ps`: their
 * control sockets), and writes both into the store. A job whose WHERE changed has moved: that is
 * a migration, reported through `onMove`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ControlClient } from '../../daemon/control-client.js';
import type { StatusResult } from '../../daemon/control-protocol.js';
import { listProcesses } from '../../process-control/discovery.js';
import type { ProcessInfo } from '../../process-control/types.js';
import type { DemoSnapshot, DemoStore, JobRow, JobState, NodeRow } from './model.js';

export interface WatchOptions {
  readonly store: DemoStore;
  /** The home node's control socket. */
  readonly daemonSocket: string;
  /** The jobs' process-control socket directory. */
  readonly procDir: string;
  readonly intervalMs: number;
  /** ms since the run started. */
  readonly elapsed: () => number;
  readonly onMove: (move: Move) => void;
}

export interface Move {
  readonly job: JobRow;
  readonly from: string;
  readonly to: string;
  /** Why the home's balancer moved it (load, speed, memory, home), when its status says. */
  readonly reason: string | undefined;
}

const LIVE: readonly JobState[] = ['running', 'migrating', 'frozen', 'checkpointing'];
const isLive = (state: string): state is JobState => (LIVE as readonly string[]).includes(state);

/** The snapshot with what one poll learnt; moves found are returned, not reported. */
export function applyPoll(
  s: DemoSnapshot,
  status: StatusResult | undefined,
  processes: readonly ProcessInfo[] | undefined,
): { snapshot: DemoSnapshot; moves: Move[] } {
  const nodes: NodeRow[] =
    status === undefined
      ? [...s.nodes]
      : s.nodes.map((n) => {
          const v = status.nodes.find((x) => x.name === n.name);
          return v === undefined
            ? { ...n, alive: false }
            : { ...n, load: v.load, guests: v.guests, alive: v.alive };
        });
  const moves: Move[] = [];
  const byPid = new Map((processes ?? []).map((p) => [p.pid, p]));
  const jobs = s.jobs.map((j): JobRow => {
    const p = j.pid === undefined ? undefined : byPid.get(j.pid);
    // Ended jobs keep their last view; a job its process no longer lists is ending.
    if (p === undefined || !LIVE.includes(j.state)) return j;
    let next: JobRow = {
      ...j,
      state: isLive(p.state) ? p.state : j.state,
      cpuMs: p.cpuTimeMs,
    };
    if (p.where !== j.where && p.where !== '') {
      next = { ...next, where: p.where, trail: [...j.trail, p.where] };
      const event = status?.migrations?.findLast(
        (m) => m.pid === p.pid && m.from === j.where && m.to === p.where,
      );
      moves.push({ job: next, from: j.where, to: p.where, reason: event?.reason });
    }
    return next;
  });
  return {
    snapshot: { ...s, nodes, jobs, migrations: s.migrations + moves.length },
    moves,
  };
}

export class Watcher {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private client: ControlClient | undefined;

  constructor(private readonly o: WatchOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** One poll now (also used once more at the end of a run). */
  async pollOnce(): Promise<void> {
    const [status, processes] = await Promise.all([this.status(), this.processes()]);
    let moves: Move[] = [];
    this.o.store.update((s) => {
      const r = applyPoll(s, status, processes);
      moves = r.moves;
      return { ...r.snapshot, elapsedMs: this.o.elapsed() };
    });
    for (const m of moves) this.o.onMove(m);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.client?.close();
    this.client = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.pollOnce();
      if (!this.stopped) await delay(this.o.intervalMs);
    }
  }

  private async status(): Promise<StatusResult | undefined> {
    try {
      this.client ??= await ControlClient.connect(this.o.daemonSocket, 1000);
      return await this.client.request('status', 1000);
    } catch {
      this.client?.close();
      this.client = undefined;
      return undefined;
    }
  }

  private async processes(): Promise<ProcessInfo[] | undefined> {
    try {
      return await listProcesses({ dir: this.o.procDir, deadlineMs: 1000 });
    } catch {
      return undefined;
    }
  }
}
