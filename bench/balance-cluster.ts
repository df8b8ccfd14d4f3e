/**
 * `npm run bench -- balance`: automatic load balancing on a real cluster of four hosts — network
 * namespaces on a bridge, each host's daemon, guest runners and home programs confined to a CPU
 * share by a cgroup v1 `cpu.cfs_quota_us` (three at 0.5 CPU, one "slow" at 0.25). Sixteen
 * CPU-bound programs start at once at home n1; the makespan (all of them ended) is compared with
 * the ideal — Σ work / Σ capacity, or the longest job on the fastest host — and with the same
 * run with the balancer off. Needs root, iproute2 and the cgroup v1 cpu controller; says why
 * and skips otherwise.
 *
 *   node dist/bench/balance-cluster.js [--jobs 16] [--iterations N] [--rounds 1] [--start best|home]
 *                                      [--only on|off] [--spare-runners 4] [--breakdown]
 *
 * --breakdown also prints, for the runs with the balancer, the CPU seconds by kind of process
 * and thread (bench/cpu-breakdown.ts): where the CPU that is not the programs' goes.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBreakdown } from './cpu-breakdown.js';
import { fmt, median } from './measure.js';
import { createTopology, netnsUnavailable } from '../test/helpers/netns.js';
import type { Topology } from '../test/helpers/netns.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const osmoBin = join(root, 'bin', 'osmo.js');
const job = join(root, 'tests', 'fixtures', 'wasm', 'steps.wasm');
const CPU_CGROUP = '/sys/fs/cgroup/cpu';
/** The cpuacct hierarchy (mounted apart from cpu here): how much CPU each host really used. */
const CPUACCT_CGROUP = '/sys/fs/cgroup/cpuacct';
const PERIOD_US = 100_000;
/** CPU share of each host, and the speed its daemon advertises (10 000 = one full CPU). */
const HOSTS = [0.5, 0.5, 0.5, 0.25];
const STEPS = 10;

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const jobs = Number(opt('--jobs', '16'));
/** best: `osmo run`'s default (-b, the home's daemon places it); home: -h (only moves spread them). */
const startAt = opt('--start', 'best');
const rounds = Number(opt('--rounds', '1'));
/** on: only the run with the balancer; off: only the one without (default: both). */
const only = opt('--only', 'both');
const spareRunners = opt('--spare-runners', '4');

function unavailable(): string | undefined {
  const netns = netnsUnavailable();
  if (netns !== undefined) return netns;
  if (!existsSync(join(CPU_CGROUP, 'cpu.cfs_quota_us')))
    return `no cgroup v1 cpu controller at ${CPU_CGROUP}`;
  return undefined;
}

/** One host's cgroup with its CPU quota. */
function makeCgroup(base: string, name: string, share: number): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
  writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(share * PERIOD_US)));
  return dir;
}

/**
 * Ends what is left in a host's cgroup (guest runners outlive their daemon by design, for a
 * moment) and removes it.
 */
async function emptyCgroup(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (let tries = 0; tries < 50; tries++) {
    const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  rmdirSync(dir);
}

/** A host's cpuacct group, if that hierarchy is there (else undefined: usage not reported). */
function makeAcctGroup(base: string, name: string): string | undefined {
  if (!existsSync(join(CPUACCT_CGROUP, 'cpuacct.usage'))) return undefined;
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** CPU seconds the processes of a cpuacct group used so far. */
function usedSeconds(acct: string | undefined): number {
  return acct === undefined ? NaN : Number(readFileSync(join(acct, 'cpuacct.usage'), 'utf8')) / 1e9;
}

/** argv that joins cgroup `cg` (and `acct`), then runs `command` on host `i` of the topology. */
function onHost(
  topology: Topology,
  i: number,
  cg: string,
  acct: string | undefined,
  command: string[],
): string[] {
  const joinAcct = acct === undefined ? '' : ` && echo $$ > ${join(acct, 'cgroup.procs')}`;
  return [
    'sh',
    '-c',
    `echo $$ > ${join(cg, 'cgroup.procs')}${joinAcct} && exec "$@"`,
    'sh',
    ...topology.prefix(i),
    ...command,
  ];
}

function start(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdio: 'ignore' | 'pipe' | number,
): ChildProcess {
  return spawn(args[0]!, args.slice(1), { env, stdio: ['ignore', stdio, stdio] });
}

/** --breakdown: CPU by kind of process and thread, for the runs with the balancer. */
const breakdown = process.argv.includes('--breakdown');

/** --logs DIR keeps each daemon's log there (to see why it moved what). */
const logs = opt('--logs', '');

async function waitForCluster(topology: Topology, socket: string, env: NodeJS.ProcessEnv) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const s = spawnSync(
      topology.prefix(0)[0]!,
      [
        ...topology.prefix(0).slice(1),
        process.execPath,
        osmoBin,
        'status',
        '--json',
        '--daemon',
        socket,
      ],
      { env, encoding: 'utf8' },
    );
    if (s.status === 0) {
      const nodes = (JSON.parse(s.stdout) as { nodes: { alive: boolean }[] }).nodes;
      if (nodes.filter((n) => n.alive).length === HOSTS.length) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the four hosts did not see each other within 30 s');
}

/**
 * Seconds until every job ended, with the balancer on or off, and the CPU seconds each host used
 * meanwhile (NaN without a cpuacct hierarchy).
 */
async function makespan(
  balance: boolean,
  iterations: string,
  tag: string,
): Promise<{ seconds: number; used: number[]; breakdown?: Map<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'osmo-bench-bal-'));
  const env = { ...process.env, XDG_RUNTIME_DIR: dir, XDG_STATE_HOME: dir };
  const cgBase = join(CPU_CGROUP, `osmo-bench-${process.pid}-${tag}`);
  const topology = createTopology(HOSTS.length);
  const groups = HOSTS.map((share, i) => makeCgroup(cgBase, `n${i + 1}`, share));
  const acctBase = join(CPUACCT_CGROUP, `osmo-bench-${process.pid}-${tag}`);
  const accts = HOSTS.map((_, i) => makeAcctGroup(acctBase, `n${i + 1}`));
  const daemons: ChildProcess[] = [];
  const children: ChildProcess[] = [];
  try {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'benchmark-secret-0123456789abcdef\n', { mode: 0o600 });
    const peers = topology.addresses.map((a) => `${a}:5301`).join(',');
    for (const [i, share] of HOSTS.entries()) {
      const name = `n${i + 1}`;
      const command = [
        process.execPath,
        osmoBin,
        'daemon',
        '--name',
        name,
        '--listen',
        `${topology.addresses[i]}:5301`,
        '--peers',
        peers,
        '--secret-file',
        secret,
        '--state-dir',
        join(dir, name),
        '--control-socket',
        join(dir, `${name}.sock`),
        '--cpus',
        '1',
        '--speed',
        String(Math.round(share * 10_000)),
        '--load-source',
        'osmosis',
        '--balance',
        String(balance),
        '--gossip-interval-ms',
        '500',
        // The guest limit is a flood guard; here the balancer alone should decide.
        '--max-guests',
        String(jobs),
        // A node expecting a burst of guests keeps runners ready: an admission then does not
        // wait for a Node start-up on a CPU its guests already share.
        '--spare-runners',
        spareRunners,
      ];
      const log = logs === '' ? 'ignore' : openSync(join(logs, `${tag}-${name}.log`), 'w');
      daemons.push(start(onHost(topology, i, groups[i]!, accts[i], command), env, log));
    }
    const home = join(dir, 'n1.sock');
    await waitForCluster(topology, home, env);
    const started = performance.now();
    const usedBefore = accts.map(usedSeconds);
    const sampler =
      breakdown && balance
        ? new CpuBreakdown(accts.filter((a): a is string => a !== undefined))
        : undefined;
    sampler?.start();
    const ended = Array.from({ length: jobs }, () => {
      const child = start(
        onHost(topology, 0, groups[0]!, accts[0], [
          process.execPath,
          osmoBin,
          'run',
          '--daemon',
          home,
          // Migration off: no start placement either, all at home.
          balance && startAt !== 'home' ? '-b' : '-h',
          job,
          String(STEPS),
          iterations,
        ]),
        env,
        'pipe',
      );
      children.push(child);
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
      child.stdout!.resume();
      return new Promise<number>((resolve, reject) =>
        child.on('close', (code) =>
          code === 0 ? resolve(performance.now()) : reject(new Error(`job exited ${code}: ${err}`)),
        ),
      );
    });
    const last = Math.max(...(await Promise.all(ended)));
    const seconds = (last - started) / 1000;
    sampler?.stop();
    return {
      seconds,
      used: accts.map((a, i) => usedSeconds(a) - usedBefore[i]!),
      ...(sampler === undefined ? {} : { breakdown: sampler.totals() }),
    };
  } finally {
    for (const c of [...children, ...daemons]) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(
      daemons.map((d) =>
        d.exitCode === null ? new Promise((r) => d.once('close', r)) : Promise.resolve(),
      ),
    );
    topology.destroy();
    for (const g of groups) await emptyCgroup(g);
    if (existsSync(cgBase)) rmdirSync(cgBase);
    for (const a of accts) if (a !== undefined) await emptyCgroup(a);
    if (existsSync(acctBase)) rmdirSync(acctBase);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU seconds one job needs: alone, on a free core, instrumented as in the cluster, minus the
 * same program's start-up (0 iterations), medians of three.
 */
function jobSeconds(iterations: string): number {
  const wall = (n: string): number => {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [osmoBin, 'run', '-h', '--preemptible', job, String(STEPS), n],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`calibration run failed: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const full: number[] = [];
  const empty: number[] = [];
  for (let i = 0; i < 3; i++) {
    full.push(wall(iterations));
    empty.push(wall('0'));
  }
  return median(full) - median(empty);
}

/** Per host, the CPU it used during a run with the balancer, as a share of what its quota allowed. */
function usageLine(round: number, run: { seconds: number; used: number[] }, work: number): string {
  const hosts = HOSTS.map((share, i) => {
    const used = run.used[i]!;
    return `n${i + 1} ${fmt(used)} s (${fmt((100 * used) / (share * run.seconds))} %)`;
  });
  const total = run.used.reduce((a, b) => a + b, 0);
  return `round ${round}, CPU used per host (of its quota over the makespan): ${hosts.join(', ')}; in all ${fmt(total)} s for ${fmt(jobs * work)} s of program CPU`;
}

async function main(): Promise<void> {
  const why = unavailable();
  if (why !== undefined) {
    console.log(`skipped: ${why}\n`);
    return;
  }
  const iterations = opt('--iterations', '60000000');
  const work = jobSeconds(iterations);
  const capacity = HOSTS.reduce((a, b) => a + b, 0);
  const ideal = Math.max((jobs * work) / capacity, work / Math.max(...HOSTS));
  console.log(
    `4 hosts (netns) at ${HOSTS.join(', ')} CPU (cgroup v1 quota), ${jobs} jobs of ${fmt(work)} s CPU each (steps.wasm ${STEPS} × ${iterations}), all started at n1 (osmo run ${startAt === 'home' ? '-h' : '-b'}); ideal makespan ${fmt(ideal)} s\n`,
  );
  console.log('| round | balancer on s | × ideal | balancer off s | × ideal | off / on |');
  console.log('|---|---|---|---|---|---|');
  const on: number[] = [];
  const off: number[] = [];
  const usage: string[] = [];
  for (let r = 1; r <= rounds; r++) {
    const withBalancer = only === 'off' ? undefined : await makespan(true, iterations, `on${r}`);
    on.push(withBalancer?.seconds ?? NaN);
    off.push(only === 'on' ? NaN : (await makespan(false, iterations, `off${r}`)).seconds);
    const a = on[on.length - 1]!;
    const b = off[off.length - 1]!;
    console.log(
      `| ${r} | ${fmt(a)} | ${fmt(a / ideal)} | ${fmt(b)} | ${fmt(b / ideal)} | ${fmt(b / a)} |`,
    );
    if (withBalancer !== undefined) usage.push(usageLine(r, withBalancer, work));
    if (withBalancer?.breakdown !== undefined) {
      const kinds = [...withBalancer.breakdown]
        .filter(([, seconds]) => seconds >= 0.05)
        .sort((x, y) => y[1] - x[1])
        .map(([kind, seconds]) => `${kind} ${fmt(seconds)} s`);
      usage.push(`round ${r}, CPU by kind of process and thread: ${kinds.join(', ')}`);
    }
  }
  if (rounds > 1) {
    const a = median(on);
    const b = median(off);
    console.log(
      `| median | ${fmt(a)} | ${fmt(a / ideal)} | ${fmt(b)} | ${fmt(b / ideal)} | ${fmt(b / a)} |`,
    );
  }
  if (usage.length > 0) console.log(`\n${usage.join('\n')}`);
  console.log('');
}

await main();
