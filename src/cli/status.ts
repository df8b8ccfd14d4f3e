/** `osmo status`: the cluster as the local daemon knows it, once. */
import type { Command } from 'commander';
import { requestOnce } from '../daemon/control-client.js';
import type { NodeView, StatusResult } from '../daemon/control-protocol.js';
import { requireDaemonSocket } from '../daemon/socket-path.js';
import { fail } from './report.js';
import { formatAge, formatBytes, formatLoad, pad } from './mon/format.js';
import { counted } from '../core/counted.js';

export const DAEMON_OPTION_HELP =
  'control socket of the daemon [default: $OSMOSIS_DAEMON, else the first you may use of $XDG_RUNTIME_DIR/osmosis/daemon.sock (or /tmp/osmosis-$UID/daemon.sock), /run/osmosis/daemon.sock, /run/osmosis/users.sock; "none": no daemon]';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show every node the local daemon knows: age, speed, CPUs, load, memory, guests')
    .option('--json', 'print the status as JSON')
    .option('--dead', 'also list nodes no longer heard from (older than maxAgeMs)')
    .option('--daemon <path>', DAEMON_OPTION_HELP)
    .addHelpText(
      'after',
      `
Columns: CLUSTER, shown when nodes of other clusters are in view; AGE is how old the freshest
news of the node is (gossip ages, no clock sync); SPEED in units of 10 000 = reference processor;
LOAD per processor in reference-processor units; USED/FREE memory; STATUS accepting (guests) or
blocked, draining, reserved; dead when not heard for maxAgeMs.
The last lines give the links this node's moves measured (images of 4 MiB or more), which its
balancer charges a move, and the same per cluster: a node not measured yet is charged its
cluster's rate, else the daemon's linkMbit (800 Mbit/s), or otherClusterLinkMbit (100 Mbit/s) for
a node of another cluster.

Exit status: 0 shown, 2 bad invocation, 69 no daemon answering, 70 internal error.`,
    )
    .action(async (opts: { json?: boolean; dead?: boolean; daemon?: string }) => {
      try {
        const status = await requestOnce(requireDaemonSocket(opts.daemon, process.env), 'status');
        if (opts.json) process.stdout.write(JSON.stringify(status, null, 2) + '\n');
        else process.stdout.write(renderStatus(status, opts.dead ?? false));
      } catch (e) {
        process.exitCode = fail(e);
      }
    });
}

export function renderStatus(status: StatusResult, showDead: boolean): string {
  const rows = status.nodes.filter((n) => n.alive || showDead);
  const alive = status.nodes.filter((n) => n.alive).length;
  // Partner clusters in the view: say which nodes are whose (their links are learnt apart).
  const clusterWidth = rows.some((n) => n.cluster !== status.cluster)
    ? Math.max(7, ...rows.map((n) => n.cluster.length))
    : 0;
  const cluster = (name: string): string => (clusterWidth > 0 ? `${pad(name, clusterWidth)} ` : '');
  const lines = [
    `cluster ${status.cluster}, seen from ${status.node}: ${counted(alive, 'active node')}`,
    `${pad('NAME', 12)} ${cluster('CLUSTER')}${pad('ADDRESS', 21)} ${pad('AGE', 7, true)} ${pad('SPEED', 6, true)} ${pad('CPUS', 4, true)} ${pad('LOAD', 6, true)} ${pad('USED', 6, true)} ${pad('FREE', 6, true)} ${pad('GUESTS', 6, true)} STATUS`,
    ...rows.map((n) => statusRow(n, cluster(n.cluster))),
  ];
  const links = ratesText(status.linkBytesPerSec);
  if (links !== '') lines.push(`links measured by moves from ${status.node}: ${links}`);
  const clusters = ratesText(status.clusterLinkBytesPerSec);
  if (clusters !== '') lines.push(`the same per cluster: ${clusters}`);
  return lines.join('\n') + '\n';
}

/** `name rate, …` in name order; '' for none. */
function ratesText(rates: Readonly<Record<string, number>> | undefined): string {
  return Object.entries(rates ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, rate]) => `${name} ${formatRate(rate)}`)
    .join(', ');
}

/** A rate in MB/s (10⁶ bytes), three significant digits. */
function formatRate(bytesPerSec: number): string {
  const mb = bytesPerSec / 1e6;
  return `${mb >= 100 ? Math.round(mb) : mb.toPrecision(3)} MB/s`;
}

/** `cluster`: its CLUSTER cell with the space after it, or '' when the column is not shown. */
function statusRow(n: NodeView, cluster: string): string {
  const used = Math.max(0, n.totalMemBytes - n.freeMemBytes);
  const status = n.alive ? n.status.join(',') : 'dead';
  return `${pad(n.name + (n.self ? '*' : ''), 12)} ${cluster}${pad(n.address, 21)} ${pad(formatAge(n.ageMs), 7, true)} ${pad(String(n.speed), 6, true)} ${pad(String(n.cpus), 4, true)} ${pad(formatLoad(n.load), 6, true)} ${pad(formatBytes(used), 6, true)} ${pad(formatBytes(n.freeMemBytes), 6, true)} ${pad(String(n.guests), 6, true)} ${status}`;
}
