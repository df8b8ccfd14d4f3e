/**
 * Where the demo's progress goes. Three forms, one interface:
 *  - plain: a line per event (`t=3.2s job 4 (primes) n1 -> n3`) and, every second of a run, one
 *    line with every node (left out while nothing changes, up to 5 s) — for pipes, logs, CI and
 *    tests;
 *  - live: on a terminal, the same event lines scroll above a screen of nodes and jobs that is
 *    redrawn in place (live-view.ts, on ink; loaded only then);
 *  - quiet (`--no-monitor`, `--json`): nothing until the summary.
 */
import type { DemoSnapshot, NodeRow } from './model.js';
import { jobsPerNode, seconds } from './model.js';
import { counted } from '../../core/counted.js';

export interface DemoOutput {
  /** A line of progress: a phase, a job that started, moved or ended. */
  line(text: string): void;
  /** Once a second while a run goes. */
  second(s: DemoSnapshot): void;
  /** Before the summary: a live screen is taken down (its last frame stays). */
  close(): Promise<void>;
}

export function nodeCell(n: NodeRow, jobs: number): string {
  const load = n.load === undefined ? '?' : n.load.toFixed(2);
  return `${n.name} ${counted(jobs, 'job')} load ${load}${n.alive ? '' : ' (dead)'}`;
}

/** `n1 5 jobs load 10.00 | n2 1 job load 2.00 | …`. */
export function nodeSummary(s: DemoSnapshot): string {
  const per = jobsPerNode(s.jobs);
  return s.nodes.map((n) => nodeCell(n, per.get(n.name) ?? 0)).join(' | ');
}

/** A node line that says nothing new is left out, unless the last one is this old (ms). */
const REPEAT_MS = 5000;

export class PlainOutput implements DemoOutput {
  private last = '';
  private lastAt = -Infinity;

  constructor(private readonly write: (text: string) => void) {}

  line(text: string): void {
    this.write(text + '\n');
  }

  second(s: DemoSnapshot): void {
    const nodes = nodeSummary(s);
    // A new run starts its clock again.
    if (nodes === this.last && s.elapsedMs >= this.lastAt && s.elapsedMs - this.lastAt < REPEAT_MS)
      return;
    this.last = nodes;
    this.lastAt = s.elapsedMs;
    this.write(`t=${seconds(s.elapsedMs)} nodes: ${nodes}\n`);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class QuietOutput implements DemoOutput {
  line(): void {}
  second(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}
