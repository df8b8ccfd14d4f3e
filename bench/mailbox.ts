/**
 * Mailboxes (ADR 0021 phase 1): the round trip of a message and its answer between two real
 * programs (tests/fixtures/c/mailbox.c `ping` and `echo`), each figure against a baseline measured
 * in the same run, rounds interleaved:
 *
 *   one home   mailbox round trip of 64 B and of 64 KiB vs the same two programs over two FIFOs
 *              (the IPC a program has without mailboxes)
 *   two homes  the same round trip between homes n1 and n2 (two daemons on loopback) vs at one home
 *
 *   npm run build && node dist/bench/mailbox.js [--rounds N] [--trips N]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, makeScratch, osmoBin, privateEnv, removeScratch } from '../test/helpers/osmo.js';
import { Cluster, startNodes, untilSeesAlive } from '../test/integration/daemon-harness.js';
import { fmt, median } from './measure.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const rounds = opt('--rounds', 3);
const trips = opt('--trips', 2000);
const MAILBOX = fixture('mailbox');
const SIZES = [64, 64 * 1024];

const dir = makeScratch();
const cluster = new Cluster();
const children: ChildProcess[] = [];

/** Starts a program that prints "ready" first; resolves with its pid once it has. */
function startReady(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, [osmoBin, 'run', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child.pid!);
    });
    child.once('exit', () => reject(new Error(`${args.join(' ')} ended before it was ready`)));
  });
}

/** One run of `ping`: its p50 round trip in µs. */
function ping(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const r = spawnSync(process.execPath, [osmoBin, 'run', ...args], { env, encoding: 'utf8' });
  const m = /p50_us ([\d.]+) p99_us ([\d.]+) ok/.exec(r.stdout);
  if (m === null) throw new Error(`ping ${args.join(' ')}: ${r.stdout} ${r.stderr}`);
  return Number(m[1]);
}

/** A FIFO round trip: a fresh echo per run (it ends when the pinging side closes). */
function fifoPing(env: NodeJS.ProcessEnv, size: number): number {
  const [a, b] = [join(dir, 'fifo-a'), join(dir, 'fifo-b')];
  spawnSync('rm', ['-f', a, b]);
  execFileSync('mkfifo', [a, b]);
  const echo = spawn(
    process.execPath,
    [osmoBin, 'run', '--daemon', 'none', MAILBOX, 'fifoecho', a, b, '0'],
    { env, stdio: 'ignore' },
  );
  children.push(echo);
  try {
    return ping(['--daemon', 'none', MAILBOX, 'fifoping', a, b, String(trips), String(size)], env);
  } finally {
    echo.kill();
  }
}

try {
  const homes = ['n1', 'n2'].map((n) => {
    const home = join(dir, `home-${n}`);
    mkdirSync(home, { mode: 0o700 });
    return privateEnv(home);
  });
  const [n1, n2] = [homes[0]!, homes[1]!];
  const daemons = await startNodes(cluster, {
    dir,
    secret: 'mailbox-bench-secret-0123456789abcdef',
    nodes: 2,
    extra: ['--balance', 'false'],
  });
  await untilSeesAlive(daemons[0]!.socket, 2, 'n1 sees both nodes');
  await untilSeesAlive(daemons[1]!.socket, 2, 'n2 sees both nodes');
  const at = (i: number): string[] => ['--daemon', daemons[i]!.socket, '-h', '-L'];
  // Echoes that answer every round trip of the run: one at n1 (one home), one at n2.
  const many = String(rounds * SIZES.length * trips * 2 + 10);
  const echoN1 = await startReady([...at(0), MAILBOX, 'echo', many], n1);
  const echoN2 = await startReady([...at(1), MAILBOX, 'echo', many], n2);

  const results = new Map<string, number[]>();
  const add = (key: string, v: number): void => {
    results.set(key, [...(results.get(key) ?? []), v]);
  };
  for (let r = 0; r < rounds; r++) {
    for (const size of SIZES) {
      const args = (to: string): string[] => [MAILBOX, 'ping', to, String(trips), String(size)];
      add(`fifo ${size}`, fifoPing(n1, size));
      add(`home ${size}`, ping([...at(0), ...args(String(echoN1))], n1));
      add(`homes ${size}`, ping([...at(0), ...args(`n2/${echoN2}`)], n1));
    }
  }
  const m = (key: string): number => median(results.get(key)!);
  console.log(`${rounds} rounds of ${trips} round trips each; p50 per run, median over rounds\n`);
  console.log(
    '| message | FIFOs, one home | mailbox, one home | × FIFOs | mailbox, two homes | × one home |',
  );
  console.log(
    '| ------- | --------------- | ----------------- | ------- | ------------------ | ---------- |',
  );
  for (const size of SIZES) {
    const [fifo, home, homes2] = [m(`fifo ${size}`), m(`home ${size}`), m(`homes ${size}`)];
    const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
    console.log(
      `| ${label} | ${fmt(fifo, 0)} µs | ${fmt(home, 0)} µs | ${fmt(home / fifo)} | ${fmt(homes2, 0)} µs | ${fmt(homes2 / home)} |`,
    );
  }
  const big = SIZES[1]!;
  const mbps = (us: number): string => fmt((2 * big) / us, 1);
  console.log(
    `\n64 KiB each way: ${mbps(m(`fifo ${big}`))} MB/s over FIFOs, ${mbps(m(`home ${big}`))} MB/s by mailbox at one home, ${mbps(m(`homes ${big}`))} MB/s between homes`,
  );
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await cluster.stopAll();
  removeScratch(dir);
}
