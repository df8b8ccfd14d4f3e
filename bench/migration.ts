/**
 * Remote execution and migration on loopback (issue 5): three real daemons (n1 home, n2, n3), real
 * programs, each figure against a baseline measured in the same run.
 *
 *   rtt        p50/p99 of a system call served by the deputy (bench/kernels/rtt.c) with the
 *              program away on n2, vs at home, vs a bare TCP ping-pong between two processes
 *   migration  request → running elsewhere (osmo migrate --json) for 16/256/1024 MiB, dense and
 *              sparse (bench/kernels/memhog.c): home → n2, n2 → n3 (through home), n3 → home;
 *              vs a local checkpoint of the same process and vs the same bytes sent over a bare
 *              link between two processes (link-transfer.ts)
 *
 *   read-ahead programs away reading files at home: one in order (20 MiB in 1 KiB blocks, 200 MiB
 *              in 32 KiB), 2 000 small ones; with read-ahead and with every read a round trip,
 *              vs the same at home
 *
 *   link       (root only) three network namespaces on a bridge, each host's link `tc tbf rate
 *              1gbit`: a 256 MiB dense program moved across it, as % of the nominal link (request
 *              → running, and the image's time on the wire) and vs a bare TCP transfer over the
 *              same link; then n2 → n3 (through home) against that bare transfer
 *
 *   table1     (root only, --table1) MOSIX's Table I in shape: four programs of ~40 s (CPU only;
 *              90 MB of writes to a file at home in 32 KB blocks; 206 MB in 32 KB; 476 MB in 64 KB),
 *              at home vs away across the 1 Gbit link, each host on a CPU of its own (two
 *              machines, as MOSIX measured): the slowdown of running away
 *
 *   npm run build && node dist/bench/migration.js [--rounds N] [--sizes 16,256,1024]
 *     [--no-link | --link-only | --read-ahead-only]
 *     [--table1 [--table1-only] [--table1-rounds N (home/away pairs per program, default 2)]]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkTransferMs } from './link-transfer.js';
import { fmt, median } from './measure.js';
import { createTopology, netnsUnavailable } from '../test/helpers/netns.js';
import type { Topology } from '../test/helpers/netns.js';
import { freeUdpPorts } from '../test/helpers/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const osmoBin = join(root, 'bin', 'osmo.js');
const kernels = join(root, 'bench', 'kernels');
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const rounds = Number(opt('--rounds', '3'));
/** Home/away pairs per Table I program (each pair ~80 s); the run-to-run noise needs several. */
const table1Rounds = Number(opt('--table1-rounds', '2'));
const sizes = opt('--sizes', '16,256,1024').split(',').map(Number);

const dir = mkdtempSync(join(tmpdir(), 'osmo-bench-mig-'));
const env = { ...process.env, XDG_RUNTIME_DIR: dir, XDG_STATE_HOME: dir };
const daemons: ChildProcess[] = [];

function osmo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [osmoBin, ...args], { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function startCluster(topology?: Topology, tag = ''): Promise<string> {
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'benchmark-secret-0123456789abcdef\n', { mode: 0o600 });
  // On loopback a third node, for moves from one node to another; in namespaces one per host
  // (Table I has two: a third daemon outside them would never join, and this would wait forever).
  const ports = topology === undefined ? await freeUdpPorts(3) : topology.addresses.map(() => 5301);
  const hostOf = (i: number): string => topology?.addresses[i] ?? '127.0.0.1';
  for (const [i, port] of ports.entries()) {
    const name = `n${i + 1}`;
    const argv = [
      ...(topology?.prefix(i) ?? []),
      process.execPath,
      osmoBin,
      'daemon',
      '--name',
      name,
      '--listen',
      `${hostOf(i)}:${port}`,
      '--peers',
      ports.map((p, j) => `${hostOf(j)}:${p}`).join(','),
      '--secret-file',
      secret,
      '--state-dir',
      join(dir, `${name}${tag}`),
      '--control-socket',
      join(dir, `${name}${tag}.sock`),
      '--gossip-interval-ms',
      '200',
      '--max-age-ms',
      '5000',
    ];
    daemons.push(spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', env }));
  }
  const socket = join(dir, `n1${tag}.sock`);
  for (;;) {
    const s = osmo(['status', '--json', '--daemon', socket]);
    if (
      s.status === 0 &&
      (JSON.parse(s.stdout) as { nodes: unknown[] }).nodes.length === ports.length
    )
      return socket;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function rttOf(args: string[]): { p50: number; p99: number } {
  const r = osmo(['run', ...args, join(kernels, 'rtt.wasm'), '20000']);
  const m = /p50_ns (\d+) p99_ns (\d+)/.exec(r.stdout);
  if (m === null) throw new Error(`rtt: ${r.stderr}`);
  return { p50: Number(m[1]) / 1000, p99: Number(m[2]) / 1000 };
}

/** A bare TCP ping-pong of 64-byte messages between two Node processes, µs per round trip. */
function tcpPingPong(n: number): Promise<{ p50: number; p99: number }> {
  const echo = spawn(
    process.execPath,
    [
      '-e',
      `const s=require('net').createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))}).listen(0,'127.0.0.1',()=>console.log(s.address().port))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve) => {
    echo.stdout.once('data', (chunk: Buffer) => {
      const c = net.connect(Number(chunk.toString()), '127.0.0.1');
      c.setNoDelay(true);
      const times: number[] = [];
      const msg = Buffer.alloc(64, 1);
      let t0 = 0n;
      const send = (): void => {
        t0 = process.hrtime.bigint();
        c.write(msg);
      };
      let got = 0;
      c.on('data', (d: Buffer) => {
        got += d.length;
        if (got < 64) return;
        got = 0;
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
        if (times.length < n) send();
        else {
          c.destroy();
          echo.kill();
          times.sort((a, b) => a - b);
          resolve({ p50: times[n >> 1]!, p99: times[Math.floor(n * 0.99)]! });
        }
      });
      c.on('connect', send);
    });
  });
}

async function migrationTimes(
  socket: string,
  mb: number,
  mode: string,
  n: number,
  prefix: string[] = [],
  /** Also move it n2 → n3 before it comes back (a cluster with a third node). */
  nodeToNode = false,
): Promise<{
  away: number;
  across: number;
  back: number;
  checkpoint: number;
  imageMiB: number;
  awayWireMs: number;
}> {
  const argv = [
    ...prefix,
    process.execPath,
    osmoBin,
    'run',
    '--daemon',
    socket,
    '-h',
    join(kernels, 'memhog.wasm'),
    String(mb),
    mode,
  ];
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 50));
  const pid = String(child.pid);
  const away: number[] = [];
  const across: number[] = [];
  const back: number[] = [];
  const checkpoints: number[] = [];
  const awayWire: number[] = [];
  let imageBytes = 0;
  for (let i = 0; i < n; i++) {
    const ck = osmo(['checkpoint', '--json', pid, '-o', join(dir, 'ck.osmosnap')]);
    checkpoints.push((JSON.parse(ck.stdout) as { ms: number }).ms);
    const route: [string, number[]][] = [['n2', away]];
    if (nodeToNode) route.push(['n3', across]);
    route.push(['home', back]);
    for (const [to, into] of route) {
      const m = osmo(['migrate', '--json', pid, to]);
      if (m.status !== 0) throw new Error(`migrate ${to}: ${m.stderr}`);
      const moved = JSON.parse(m.stdout) as { ms: number; imageBytes: number; transferMs?: number };
      into.push(moved.ms);
      if (into === away && moved.transferMs !== undefined) awayWire.push(moved.transferMs);
      imageBytes = moved.imageBytes;
    }
  }
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  if (!out.includes('checksum')) throw new Error(`memhog ${mb} ${mode} did not finish: ${out}`);
  return {
    away: median(away),
    across: across.length > 0 ? median(across) : NaN,
    back: median(back),
    checkpoint: median(checkpoints),
    imageMiB: imageBytes / (1 << 20),
    awayWireMs: awayWire.length > 0 ? median(awayWire) : NaN,
  };
}

/** Bytes per second of a bare TCP transfer of `bytes` from host 0 to host 1 of the topology. */
async function bareTransfer(topology: Topology, bytes: number): Promise<number> {
  const port = 5999;
  const sink = spawn(
    topology.prefix(1)[0]!,
    [
      ...topology.prefix(1).slice(1),
      process.execPath,
      '-e',
      `const n=require('net').createServer(c=>{let g=0;c.on('data',d=>{g+=d.length;if(g>=${bytes})c.end('k')})}).listen(${port},'${topology.addresses[1]}',()=>console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve) =>
      sink.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('up')) resolve();
      }),
    );
    const script = `const t=process.hrtime.bigint();const c=require('net').connect(${port},'${topology.addresses[1]}');const b=Buffer.alloc(1<<20,7);let s=0;const go=()=>{while(s<${bytes}){s+=b.length;if(!c.write(b))return c.once('drain',go)}};c.on('connect',go);c.on('data',()=>{console.log(Number(process.hrtime.bigint()-t)/1e6);c.destroy()})`;
    const r = spawnSync(
      topology.prefix(0)[0]!,
      [...topology.prefix(0).slice(1), process.execPath, '-e', script],
      { encoding: 'utf8' },
    );
    return bytes / (Number(r.stdout.trim()) / 1000);
  } finally {
    sink.kill();
  }
}

/** `n` results of `f`, one after the other. */
async function sequence<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

/** Wall seconds of one osmo run on host 0 of the topology. */
function wallSeconds(prefix: string[], args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(prefix[0]!, [...prefix.slice(1), process.execPath, osmoBin, 'run', ...args], {
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`osmo run ${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function table1Section(): Promise<void> {
  // Two machines, as in MOSIX's measurement: each host has a CPU of its own.
  const topology = createTopology(2, { rate: '1gbit', cpuPerHost: true });
  try {
    const socket = await startCluster(topology, '-t1');
    const home = topology.prefix(0);
    const prog = join(kernels, 'tableone.wasm');
    const file = join(dir, 'table1.out');
    // Calibrate: iterations for ~35 s at home (the same instrumented module both ways).
    // The fastest of three probes: a probe slowed by the daemons' start-up would make every
    // run too short.
    const probe = 1_000_000_000;
    const probeArgs = ['--daemon', socket, '-h', prog, String(probe), '0', '0', file];
    const fastest = Math.min(...[0, 1, 2].map(() => wallSeconds(home, probeArgs)));
    const iterations = String(Math.round((probe / fastest) * 40));
    const workloads: [string, string, string][] = [
      ['CPU only', '0', '0'],
      ['90 MB in 32 KB blocks', '90', '32'],
      ['206 MB in 32 KB blocks', '206', '32'],
      ['476 MB in 64 KB blocks', '476', '64'],
    ];
    console.log(
      '\n### MOSIX Table I in shape (home vs away on n2 across a 1 Gbit link; wall s, ~40 s programs)\n',
    );
    console.log(
      `| program | at home | away | slowdown (medians) | each pair, home then away (${table1Rounds}) | median of pairs | MOSIX measured |`,
    );
    console.log('|---|---|---|---|---|---|---|');
    const mosix = ['0.32 %', '1.47 %', '1.16 %', '1.39 %'];
    for (const [i, [name, mb, kb]] of workloads.entries()) {
      const local: number[] = [];
      const away: number[] = [];
      for (let r = 0; r < table1Rounds; r++) {
        local.push(wallSeconds(home, ['--daemon', socket, '-h', prog, iterations, mb, kb, file]));
        away.push(
          wallSeconds(home, ['--daemon', socket, '-r', 'n2', prog, iterations, mb, kb, file]),
        );
      }
      const l = median(local);
      const a = median(away);
      const pairs = local.map((home, k) => ((away[k]! - home) / home) * 100);
      console.log(
        `| ${name} | ${fmt(l, 1)} | ${fmt(a, 1)} | ${fmt(((a - l) / l) * 100, 2)} % | ${pairs.map((x) => fmt(x, 2)).join(', ')} | ${fmt(median(pairs), 2)} % | ${mosix[i]} |`,
      );
    }
  } finally {
    for (const d of daemons.splice(0)) d.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    topology.destroy();
  }
}

async function linkSection(): Promise<void> {
  const topology = createTopology(3, { rate: '1gbit' });
  try {
    const socket = await startCluster(topology, '-link');
    const mb = 256;
    const moves: { mbps: number; wireMbps: number; ms: number; acrossMs: number }[] = [];
    const bares: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await migrationTimes(socket, mb, 'dense', 1, topology.prefix(0), true);
      const bits = r.imageMiB * (1 << 20) * 8;
      moves.push({
        mbps: bits / (r.away / 1000) / 1e6,
        wireMbps: bits / r.awayWireMs / 1e3,
        ms: r.away,
        acrossMs: r.across,
      });
      bares.push(((await bareTransfer(topology, mb << 20)) * 8) / 1e6);
    }
    const mbps = median(moves.map((m) => m.mbps));
    const wire = median(moves.map((m) => m.wireMbps));
    const bare = median(bares);
    console.log('\n### Migration over a 1 Gbit link (tc tbf rate 1gbit between two namespaces)\n');
    console.log(
      '| 256 MiB dense, home → n2 | ms | Mbit/s request → running | % of 1 Gbit | Mbit/s on the wire | % of 1 Gbit | bare TCP Mbit/s | wire / bare TCP |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    console.log(
      `| median of ${rounds} | ${fmt(median(moves.map((m) => m.ms)), 0)} | ${fmt(mbps, 0)} | ${fmt(mbps / 10, 1)} % | ${fmt(wire, 0)} | ${fmt(wire / 10, 1)} % | ${fmt(bare, 0)} | ${fmt(wire / bare)} |`,
    );
    const acrossMs = median(moves.map((m) => m.acrossMs));
    const bareMs = (mb * (1 << 20) * 8) / (bare * 1e3);
    console.log(
      `\nn2 → n3 (through home, each host's link 1 Gbit): ${fmt(acrossMs, 0)} ms, ` +
        `${fmt(acrossMs / bareMs)} × one bare TCP transfer of the same bytes (${fmt(bareMs, 0)} ms)`,
    );
  } finally {
    for (const d of daemons.splice(0)) d.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    topology.destroy();
  }
}

/**
 * Programs away reading files at home: one file in order (tests/fixtures/c/readsum.c), and many
 * small files one after the other (bench/kernels/readmany.c); with read-ahead and without
 * (OSMOSIS_READ_AHEAD=off: every read, end of file and close a round trip), against the same run
 * at home; A/B/C interleaved, medians.
 */
function readAheadSection(socket: string): void {
  console.log('\n### Reading files at home (wall s, medians; A/B/C interleaved)\n');
  console.log(
    '| input | at home | away, read-ahead | away, every read a round trip | ahead / home | off / ahead |',
  );
  console.log('|---|---|---|---|---|---|');
  const compare = (label: string, program: string, args: string[]): void => {
    const timed = (where: string[], readAhead: string): number => {
      const started = performance.now();
      const r = spawnSync(process.execPath, [osmoBin, 'run', ...where, '-L', program, ...args], {
        env: { ...env, OSMOSIS_READ_AHEAD: readAhead },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
      return (performance.now() - started) / 1000;
    };
    const home: number[] = [];
    const ahead: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < rounds; i++) {
      home.push(timed(['-h'], 'on'));
      ahead.push(timed(['--daemon', socket, '-r', 'n2'], 'on'));
      off.push(timed(['--daemon', socket, '-r', 'n2'], 'off'));
    }
    const [h, a, o] = [median(home), median(ahead), median(off)];
    console.log(`| ${label} | ${fmt(h)} | ${fmt(a)} | ${fmt(o)} | ${fmt(a / h)} | ${fmt(o / a)} |`);
  };
  const readsum = join(root, 'tests', 'fixtures', 'wasm', 'readsum.wasm');
  for (const [mib, block] of [
    [20, 1024],
    [200, 32768],
  ] as const) {
    const file = join(dir, `read-${mib}.bin`);
    const data = Buffer.alloc(mib << 20);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
    writeFileSync(file, data);
    compare(`${mib} MiB in ${block} B reads`, readsum, [file, String(block)]);
  }
  const many = join(dir, 'many');
  mkdirSync(many, { recursive: true });
  const files = 2000;
  for (let i = 0; i < files; i++) writeFileSync(join(many, `f${i}`), Buffer.alloc(3000, i & 0xff));
  compare(`${files} files of 3000 B`, join(kernels, 'readmany.wasm'), [many, String(files)]);
}

async function allSections(): Promise<void> {
  const socket = await startCluster();
  readAheadSection(socket);
  console.log('### Remote system call round trip (µs; fd_fdstat_get, 20 000 calls)\n');
  console.log(
    '| round | at home p50 / p99 | away on n2 p50 / p99 | bare TCP ping-pong p50 / p99 | away / TCP p50 |',
  );
  console.log('|---|---|---|---|---|');
  for (let i = 0; i < rounds; i++) {
    const home = rttOf(['-h']);
    const away = rttOf(['--daemon', socket, '-r', 'n2']);
    const tcp = await tcpPingPong(20000);
    console.log(
      `| ${i + 1} | ${fmt(home.p50, 1)} / ${fmt(home.p99, 1)} | ${fmt(away.p50, 1)} / ${fmt(away.p99, 1)} | ${fmt(tcp.p50, 1)} / ${fmt(tcp.p99, 1)} | ${fmt(away.p50 / tcp.p50)} |`,
    );
  }
  console.log('\n### Migration time, request → running elsewhere (ms, medians)\n');
  console.log(
    '| memory | image MiB | home → n2 | n2 → n3 | n3 → home | local checkpoint | bare link, same bytes | home→n2 / checkpoint | home→n2 / bare link | n2→n3 / bare link |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const mb of sizes) {
    for (const mode of ['dense', 'sparse']) {
      const r = await migrationTimes(socket, mb, mode, mb >= 1024 ? 1 : rounds, [], true);
      const bare = median(
        await sequence(mb >= 1024 ? 1 : rounds, () => linkTransferMs(r.imageMiB * (1 << 20))),
      );
      console.log(
        `| ${mb} MiB ${mode} | ${fmt(r.imageMiB, 1)} | ${fmt(r.away, 0)} | ${fmt(r.across, 0)} | ${fmt(r.back, 0)} | ${fmt(r.checkpoint, 0)} | ${fmt(bare, 0)} | ${fmt(r.away / r.checkpoint)} | ${fmt(r.away / bare)} | ${fmt(r.across / bare)} |`,
      );
    }
  }
  const noLink = netnsUnavailable() ?? (argv.includes('--no-link') ? '--no-link' : undefined);
  if (noLink === undefined) await linkSection();
  else console.log(`\n### 1 Gbit link: skipped (${noLink})`);
  if (noLink === undefined && argv.includes('--table1')) await table1Section();
}

try {
  if (argv.includes('--read-ahead-only')) readAheadSection(await startCluster());
  else if (argv.includes('--table1-only')) await table1Section();
  else if (argv.includes('--link-only')) await linkSection();
  else await allSections();
} finally {
  for (const d of daemons) d.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(dir, { recursive: true, force: true });
}
