/**
 * The reference no real policy can beat at processor sharing: the cluster as one pooled machine
 * (a perfect single-system image with free, instant, continuous migration). The q jobs present
 * share the min(q, CPUs) fastest CPUs equally, so each progresses at R(q)/q reference seconds per
 * second, R(q) the sum of those CPUs' speeds. It shows how much of the gap between a policy and
 * the ideal makespan (which assumes perfect packing, not fair sharing) is the sharing itself.
 */
import { REFERENCE_SPEED } from '../balance/policy.js';
import type { Workload } from './balance-workload.js';

export interface PooledOutcome {
  readonly makespanSec: number;
  readonly meanSlowdown: number;
}

/** The makespan and mean slowdown of a pooled reference, job by job as they end. */
export class CompletionTally {
  private makespan = 0;
  private slowdownSum = 0;
  private readonly fastest: number;

  constructor(private readonly workload: Workload) {
    this.fastest = workload.fastestSpeed / REFERENCE_SPEED;
  }

  ended(job: number, atSec: number): void {
    const j = this.workload.jobs[job]!;
    this.makespan = Math.max(this.makespan, atSec);
    this.slowdownSum += (atSec - j.arrivalMs / 1000) / (j.workSec / this.fastest);
  }

  outcome(): PooledOutcome {
    return {
      makespanSec: this.makespan,
      meanSlowdown: this.slowdownSum / this.workload.jobs.length,
    };
  }
}

export function pooledProcessorSharing(workload: Workload): PooledOutcome {
  // prefix[k] = speed of the k fastest CPUs together (reference units).
  const cpus = workload.nodes
    .flatMap((n) => Array.from({ length: n.cpus }, () => n.speed / REFERENCE_SPEED))
    .sort((a, b) => b - a);
  const prefix = new Float64Array(cpus.length + 1);
  for (let i = 0; i < cpus.length; i++) prefix[i + 1] = prefix[i]! + cpus[i]!;
  const perJob = (q: number): number => prefix[Math.min(q, cpus.length)]! / q;

  const jobs = workload.jobs;
  const finishV = new Float64Array(jobs.length);
  const heap: number[] = [];
  const lessV = (a: number, b: number): boolean =>
    finishV[a]! < finishV[b]! || (finishV[a] === finishV[b] && a < b);
  let v = 0;
  let now = 0;
  let next = 0;
  const tally = new CompletionTally(workload);
  while (next < jobs.length || heap.length > 0) {
    const q = heap.length;
    const rate = q > 0 ? perJob(q) : 0;
    const arrival = next < jobs.length ? jobs[next]!.arrivalMs / 1000 : Infinity;
    const completion = q > 0 ? now + (finishV[heap[0]!]! - v) / rate : Infinity;
    if (arrival <= completion) {
      v += rate * (arrival - now);
      now = arrival;
      finishV[next] = v + jobs[next]!.workSec;
      push(heap, next, lessV);
      next++;
    } else {
      v = finishV[heap[0]!]!;
      now = completion;
      tally.ended(pop(heap, lessV), now);
    }
  }
  return tally.outcome();
}

function push(heap: number[], x: number, less: (a: number, b: number) => boolean): void {
  heap.push(x);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(x, heap[parent]!)) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = x;
}

function pop(heap: number[], less: (a: number, b: number) => boolean): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const r = l + 1;
    const c = r < heap.length && less(heap[r]!, heap[l]!) ? r : l;
    if (!less(heap[c]!, last)) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
  return top;
}
