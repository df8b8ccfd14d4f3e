/**
 * CPU confinement for the demo's nodes: all four share one kernel, so without limits a "slow" node
 * is as fast as the others and a node's programs may use every core. With cgroup v1's cpu
 * controller each node gets a CFS quota (e.g. half a CPU); a daemon's pid is written into its
 * node's group right after spawn, and what it forks later (its guest runners) inherits the group.
 * Removal moves nothing: a group is removed once every process in it has exited.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { OsmoError } from '../../core/errors.js';
import { pidExists } from '../../platform/pid.js';

export const CGROUP_V1_CPU = '/sys/fs/cgroup/cpu';
export const CFS_PERIOD_US = 100_000;

/** Why confinement is off, in a few words for the demo's header line; undefined if available. */
export function confinementUnavailable(root = CGROUP_V1_CPU): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync(join(root, 'cpu.cfs_quota_us'))) return `no cgroup v1 cpu controller at ${root}`;
  return undefined;
}

/**
 * Removes the empty groups of earlier demos that are gone (killed before they could clean up).
 * A group that still holds a process is left alone. Best effort: returns the groups removed.
 */
export function removeStaleGroups(root = CGROUP_V1_CPU): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => /^osmosis-demo-\d+$/.test(n));
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = Number(name.slice('osmosis-demo-'.length));
    if (pid === process.pid || pidExists(pid)) continue;
    const dir = join(root, name);
    try {
      for (const node of readdirSync(dir, { withFileTypes: true }))
        if (node.isDirectory()) rmdirSync(join(dir, node.name));
      rmdirSync(dir);
      removed.push(dir);
    } catch {
      // still in use
    }
  }
  return removed;
}

export class CpuConfinement {
  private readonly groups = new Map<string, string>();

  private constructor(readonly dir: string) {}

  /**
   * Creates `<root>/osmosis-demo-<pid>/<node>` for each node with `cpus` of CPU (0.5 = half a
   * CPU). Throws (with nothing left behind) if the kernel refuses.
   */
  static create(nodes: ReadonlyMap<string, number>, root = CGROUP_V1_CPU): CpuConfinement {
    const c = new CpuConfinement(join(root, `osmosis-demo-${process.pid}`));
    try {
      mkdirSync(c.dir);
      for (const [name, cpus] of nodes) {
        const dir = join(c.dir, name);
        mkdirSync(dir);
        c.groups.set(name, dir);
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(cpus * CFS_PERIOD_US)));
      }
    } catch (e) {
      c.removeEmpty();
      throw e;
    }
    return c;
  }

  /** Puts a process (all its threads) into the node's group. */
  add(node: string, pid: number): void {
    const dir = this.groups.get(node);
    try {
      if (dir === undefined) throw new Error('no such group');
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      throw new OsmoError(
        'E_IO',
        `cannot put process ${pid} into node ${node}'s cgroup ${dir ?? ''} (${(e as NodeJS.ErrnoException).code ?? String(e)}); --no-confine runs without`,
        { cause: e },
      );
    }
  }

  /** The pids in every group now (the demo's processes and whatever they forked). */
  members(): number[] {
    const pids: number[] = [];
    for (const dir of this.groups.values()) {
      try {
        for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n'))
          if (/^\d+$/.test(line)) pids.push(Number(line));
      } catch {
        // removed already
      }
    }
    return pids;
  }

  /**
   * Removes the groups that have no process left, then the parent once it is empty. Returns the
   * paths that could not be removed (still in use).
   */
  removeEmpty(): string[] {
    const left: string[] = [];
    for (const [name, dir] of this.groups) {
      try {
        rmdirSync(dir);
        this.groups.delete(name);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.groups.delete(name);
        else left.push(dir);
      }
    }
    if (left.length === 0) {
      try {
        rmdirSync(this.dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(this.dir);
      }
    }
    return left;
  }
}
