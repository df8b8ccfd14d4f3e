/**
 * Hosts of their own for system tests: network namespaces joined by veth pairs to a bridge that
 * lives in a hub namespace of its own, so nothing touches the machine's own network. Each host
 * gets 10.<net>.0.<i+1>/24. Optional `tc tbf` shaping gives every host link a rate (1gbit), or
 * each host its own (what leaves host i is shaped to rates[i]; undefined: not shaped), and
 * `cpuPerHost` gives each host a CPU of its own (host i runs on CPU i mod the CPUs here, by
 * affinity, inherited by everything started there), as separate machines would have.
 * Needs root and iproute2; {@link netnsUnavailable} says why not when they are missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { pidExists } from '../../src/platform/pid.js';

export interface Topology {
  readonly hosts: readonly string[];
  readonly addresses: readonly string[];
  /** argv prefix to run a command on host i. */
  prefix(i: number): string[];
  destroy(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.status !== 0) return `ip netns does not work here: ${probe.stderr || probe.error}`;
  return undefined;
}

/** Namespace names carry their creator's pid: `osmo-hub-<pid36>x<hex>`, `osmo-<pid36>x<hex>-<i>`. */
const OURS = /^osmo-(?:hub-)?([0-9a-z]+)x[0-9a-f]+(?:-\d+)?$/;

/**
 * Deletes the namespaces a test or benchmark run left behind when it was killed before its
 * destroy() (a test file over the runner's time limit): those whose creator is gone.
 */
export function removeStaleNamespaces(): string[] {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const stale = listed
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => {
      const pid = OURS.exec(name)?.[1];
      return pid !== undefined && !pidExists(parseInt(pid, 36));
    });
  for (const ns of stale) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  return stale;
}

export function createTopology(
  n: number,
  options: { rate?: string | readonly (string | undefined)[]; cpuPerHost?: boolean } = {},
): Topology {
  removeStaleNamespaces();
  const tag = `${process.pid.toString(36)}x${randomBytes(2).toString('hex')}`;
  const net = 100 + (randomBytes(1)[0]! % 100);
  const hub = `osmo-hub-${tag}`;
  const hosts = Array.from({ length: n }, (_, i) => `osmo-${tag}-${i + 1}`);
  const addresses = hosts.map((_, i) => `10.${net}.0.${i + 1}`);
  const destroy = (): void => {
    for (const ns of [...hosts, hub]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  };
  try {
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    for (const [i, ns] of hosts.entries()) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const outer = `v${tag}${i}`;
      ip('-n', hub, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', hub, 'link', 'set', outer, 'master', 'br0');
      ip('-n', hub, 'link', 'set', outer, 'up');
      ip('-n', ns, 'addr', 'add', `${addresses[i]}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      const rate = typeof options.rate === 'string' ? options.rate : options.rate?.[i];
      if (rate !== undefined) {
        execFileSync(
          'ip',
          [
            'netns',
            'exec',
            ns,
            'tc',
            'qdisc',
            'add',
            'dev',
            'eth0',
            'root',
            'tbf',
            'rate',
            rate,
            'burst',
            '1mb',
            'latency',
            '50ms',
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
      }
    }
  } catch (error) {
    destroy();
    throw error;
  }
  return {
    hosts,
    addresses,
    prefix: (i) => [
      ...(options.cpuPerHost === true ? ['taskset', '-c', String(i % availableParallelism())] : []),
      'ip',
      'netns',
      'exec',
      hosts[i]!,
    ],
    destroy,
  };
}
