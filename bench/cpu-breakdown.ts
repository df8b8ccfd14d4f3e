/**
 * Where a host's CPU goes, by kind of Osmosis process and thread: a sampler that reads the
 * utime + stime of every thread of every process in the given cgroups (from /proc) a few times a
 * second and keeps each thread's last reading. A thread's CPU after its last sample is missed
 * (≤ the sampling period per thread), so the totals are slightly low.
 *
 * Kinds: the process's role from its command line (daemon, runner, osmo run), and within a
 * process its main thread, its busiest other thread (the guest: a program's worker thread) and
 * the rest (V8's compiler and GC helpers, libuv's pool).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

type Role = 'daemon' | 'runner' | 'osmo run' | 'other';

interface ThreadCpu {
  role: Role;
  pid: number;
  tid: number;
  ticks: number;
}

function roleOf(cmdline: string): Role {
  if (/osmo\.js daemon\b/.test(cmdline)) return 'daemon';
  if (/osmo\.js runner\b/.test(cmdline)) return 'runner';
  if (/osmo\.js run\b/.test(cmdline)) return 'osmo run';
  return 'other';
}

/** utime + stime of a /proc stat line (fields 14 and 15; the name may contain spaces). */
function cpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process or thread ended meanwhile
  }
}

export class CpuBreakdown {
  private readonly threads = new Map<string, ThreadCpu>();
  /** Each thread's reading when the measurement started (what it used before does not count). */
  private readonly before = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cgroups: readonly string[],
    private readonly periodMs = 200,
  ) {}

  start(): void {
    this.sample();
    for (const [key, t] of this.threads) this.before.set(key, t.ticks);
    this.timer = setInterval(() => this.sample(), this.periodMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    for (const group of this.cgroups) {
      const procs = readOr(join(group, 'cgroup.procs'));
      if (procs === undefined) continue;
      for (const pid of procs.split('\n').filter(Boolean).map(Number)) {
        const cmdline = readOr(`/proc/${pid}/cmdline`);
        if (cmdline === undefined) continue;
        const role = roleOf(cmdline.replaceAll('\0', ' '));
        let tids: string[];
        try {
          tids = readdirSync(`/proc/${pid}/task`);
        } catch {
          continue;
        }
        for (const tid of tids) {
          const stat = readOr(`/proc/${pid}/task/${tid}/stat`);
          if (stat === undefined) continue;
          const key = `${pid}/${tid}`;
          const ticks = cpuTicks(stat);
          const known = this.threads.get(key);
          if (known === undefined) this.threads.set(key, { role, pid, tid: Number(tid), ticks });
          else known.ticks = Math.max(known.ticks, ticks);
        }
      }
    }
  }

  /** CPU seconds by role and thread kind, e.g. "runner guest" → 26.8. */
  totals(): Map<string, number> {
    const busiest = new Map<number, ThreadCpu>();
    for (const t of this.threads.values()) {
      if (t.tid === t.pid) continue;
      const b = busiest.get(t.pid);
      if (b === undefined || t.ticks > b.ticks) busiest.set(t.pid, t);
    }
    const out = new Map<string, number>();
    for (const [key, t] of this.threads) {
      const hostsGuest = t.role === 'runner' || t.role === 'osmo run';
      const kind =
        t.tid === t.pid ? 'main' : hostsGuest && busiest.get(t.pid) === t ? 'guest' : 'helpers';
      const label = `${t.role} ${kind}`;
      const used = (t.ticks - (this.before.get(key) ?? 0)) / TICKS_PER_SECOND;
      out.set(label, (out.get(label) ?? 0) + used);
    }
    return out;
  }
}
