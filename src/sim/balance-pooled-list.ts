/**
 * A second makespan reference: the cluster as one pooled machine that always serves the jobs
 * that have had the most service. A job, once started, runs until it ends, on the fastest CPU not
 * held by a job started before it (moving up, free and instantly, when a faster CPU frees); jobs
 * beyond the CPUs wait in arrival order and start, with no service yet, on the slowest CPU that
 * frees. With identical CPUs and every job present at t = 0 this is list scheduling.
 *
 * Why it matters: the ideal makespan assumes the lengths are known. A policy that does not know
 * them cannot do better, on average, than serving the jobs least likely to end soon first. For
 * job lengths whose hazard rate decreases with the service received (Pareto does), those are the
 * jobs served longest, and that rule minimises the expected makespan on identical machines with
 * every job present at t = 0 (R. R. Weber, J. Appl. Prob. 19, 1982). So, on such a workload, no
 * policy that cannot see the future — fair or not, migrating or not — beats this reference's
 * expected makespan. On mixed speeds or with arrivals over time the rule is a strong heuristic,
 * not a proven optimum.
 */
import { REFERENCE_SPEED } from '../balance/policy.js';
import { IndexedHeap } from './balance-heap.js';
import { CompletionTally } from './balance-pooled.js';
import type { PooledOutcome } from './balance-pooled.js';
import type { Workload } from './balance-workload.js';

interface Started {
  readonly job: number;
  /** Finishing point on its group's clock: the group's work per CPU when the job ends. */
  key: number;
  /** Index of the speed group it runs in; -1 once ended. */
  group: number;
  heapPos: number;
}

/** The CPUs of one speed, and the started jobs on them in start order. */
interface SpeedGroup {
  /** Reference seconds of work a CPU of this group does per second. */
  readonly speed: number;
  readonly cpus: number;
  /** Work per CPU done so far (reference seconds): the clock the keys are on. */
  clock: number;
  live: number;
  /** Start order; ended jobs are skipped lazily from the front. */
  readonly order: Started[];
  head: number;
  readonly byFinish: IndexedHeap<Started>;
}

export function pooledServedLongestFirst(workload: Workload): PooledOutcome {
  const groups = speedGroups(workload);
  const totalCpus = groups.reduce((sum, g) => sum + g.cpus, 0);
  const jobs = workload.jobs;
  const waiting: number[] = [];
  let waitingHead = 0;
  let running = 0;
  let next = 0;
  let now = 0;
  const tally = new CompletionTally(workload);

  const startIn = (g: SpeedGroup, groupIndex: number, started: Started): void => {
    started.group = groupIndex;
    g.order.push(started);
    g.byFinish.push(started);
    g.live++;
  };

  while (next < jobs.length || running > 0) {
    let completion = Infinity;
    let completingGroup = -1;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      const top = g.byFinish.peek();
      if (top === undefined) continue;
      const at = now + (top.key - g.clock) / g.speed;
      if (at < completion) {
        completion = at;
        completingGroup = i;
      }
    }
    const arrival = next < jobs.length ? jobs[next]!.arrivalMs / 1000 : Infinity;
    const until = Math.min(arrival, completion);
    for (const g of groups) g.clock += g.speed * (until - now);
    now = until;

    if (arrival <= completion) {
      const job = next++;
      if (running < totalCpus) {
        // Started jobs hold the fastest CPUs, so the first group with room is the one.
        const i = groups.findIndex((g) => g.live < g.cpus);
        const g = groups[i]!;
        startIn(g, i, { job, key: g.clock + jobs[job]!.workSec, group: i, heapPos: -1 });
        running++;
      } else {
        waiting.push(job);
      }
      continue;
    }

    const g = groups[completingGroup]!;
    const ended = g.byFinish.peek()!;
    g.byFinish.remove(ended);
    ended.group = -1;
    g.live--;
    running--;
    tally.ended(ended.job, now);

    // The freed CPU passes down the start order: each later group's earliest-started job moves
    // up one group, and the hole ends in the last group that had a job.
    let hole = completingGroup;
    while (hole + 1 < groups.length && groups[hole + 1]!.live > 0) {
      const from = groups[hole + 1]!;
      const moving = frontLive(from);
      from.byFinish.remove(moving);
      from.live--;
      const to = groups[hole]!;
      moving.key = to.clock + (moving.key - from.clock);
      startIn(to, hole, moving);
      hole++;
    }
    if (waitingHead < waiting.length) {
      const job = waiting[waitingHead++]!;
      const to = groups[hole]!;
      startIn(to, hole, { job, key: to.clock + jobs[job]!.workSec, group: hole, heapPos: -1 });
      running++;
    }
  }
  return tally.outcome();
}

/** Pops ended jobs off the front of `g`'s start order and returns its earliest-started live one. */
function frontLive(g: SpeedGroup): Started {
  for (;;) {
    const s = g.order[g.head]!;
    if (s.group >= 0 && g.byFinish.has(s)) {
      g.head++;
      if (g.head > 1024 && g.head * 2 > g.order.length) {
        g.order.splice(0, g.head);
        g.head = 0;
      }
      return s;
    }
    g.head++;
  }
}

function speedGroups(workload: Workload): SpeedGroup[] {
  const cpusBySpeed = new Map<number, number>();
  for (const n of workload.nodes) {
    cpusBySpeed.set(n.speed, (cpusBySpeed.get(n.speed) ?? 0) + n.cpus);
  }
  return [...cpusBySpeed.entries()]
    .sort(([a], [b]) => b - a)
    .map(([speed, cpus]) => ({
      speed: speed / REFERENCE_SPEED,
      cpus,
      clock: 0,
      live: 0,
      order: [],
      head: 0,
      byFinish: new IndexedHeap<Started>(
        (a, b) => a.key < b.key || (a.key === b.key && a.job < b.job),
      ),
    }));
}
