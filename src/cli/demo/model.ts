/**
 * What the demo shows, as plain data: its nodes, its jobs and where they are. The orchestrator
 * (run.ts) and the watcher (watch.ts) change it through a {@link DemoStore}; the views (the plain
 * text lines, the live ink screen) and the summary only read it. No I/O here.
 */

export interface NodeRow {
  readonly name: string;
  /** MOSIX speed units (10 000 = reference processor), as given to the daemon. */
  readonly speed: number;
  /** CPU quota of its cgroup (0.5 = half a CPU); undefined when unconfined. */
  readonly cpuShare: number | undefined;
  readonly pid: number | undefined;
  /** From the home node's status; undefined until heard of. */
  readonly load: number | undefined;
  readonly guests: number | undefined;
  readonly alive: boolean;
}

export type JobState =
  'waiting' | 'running' | 'migrating' | 'frozen' | 'checkpointing' | 'done' | 'failed';

export interface JobRow {
  readonly id: number;
  readonly program: string;
  readonly args: readonly string[];
  readonly pid: number | undefined;
  /** The node it runs on (the home's name at home). */
  readonly where: string;
  readonly state: JobState;
  /** CPU time so far, as its process reports it (ps). */
  readonly cpuMs: number;
  /** Every node it ran on, in order, starting with home. */
  readonly trail: readonly string[];
  /** Since the run started, ms. */
  readonly startedMs: number | undefined;
  readonly endedMs: number | undefined;
  readonly exitCode: number | undefined;
  /** The CPU seconds it printed on its result line. */
  readonly reportedCpuSec: number | undefined;
  /** Its result line (stdout), once it ended. */
  readonly result: string | undefined;
}

export type RunKind = 'balanced' | 'baseline';

export interface DemoSnapshot {
  /** What the demo is doing, one line. */
  readonly phase: string;
  readonly run: RunKind | undefined;
  /** ms since the current run's first job started (0 before). */
  readonly elapsedMs: number;
  readonly nodes: readonly NodeRow[];
  readonly jobs: readonly JobRow[];
  /** Moves seen in the current run. */
  readonly migrations: number;
}

export type Listener = (s: DemoSnapshot) => void;

/** The one mutable place: a snapshot replaced on every change, and who wants to know. */
export class DemoStore {
  private current: DemoSnapshot;
  private readonly listeners = new Set<Listener>();

  constructor(initial: DemoSnapshot) {
    this.current = initial;
  }

  get snapshot(): DemoSnapshot {
    return this.current;
  }

  update(change: (s: DemoSnapshot) => DemoSnapshot): void {
    this.current = change(this.current);
    for (const l of this.listeners) l(this.current);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

export function emptyJob(
  id: number,
  program: string,
  args: readonly string[],
  home: string,
): JobRow {
  return {
    id,
    program,
    args,
    pid: undefined,
    where: home,
    state: 'waiting',
    cpuMs: 0,
    trail: [home],
    startedMs: undefined,
    endedMs: undefined,
    exitCode: undefined,
    reportedCpuSec: undefined,
    result: undefined,
  };
}

/** Jobs not yet ended, per node name. */
export function jobsPerNode(jobs: readonly JobRow[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const j of jobs)
    if (j.state !== 'waiting' && j.state !== 'done' && j.state !== 'failed')
      count.set(j.where, (count.get(j.where) ?? 0) + 1);
  return count;
}

/** "3.2s" — seconds with one decimal, as every demo line shows time. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** "job 4 (primes)". */
export function jobName(j: Pick<JobRow, 'id' | 'program'>): string {
  return `job ${j.id} (${j.program})`;
}
