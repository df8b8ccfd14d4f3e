/**
 * `npm run bench [-- SECTION… --rounds N]`: the figures BENCHMARKS.md records, each against a
 * baseline measured in the same run (this machine is shared and noisy: interleaved rounds, medians).
 *   kernels   CPU kernels: osmo run vs node:wasi vs native gcc -O2
 *   tierup    osmo run --preemptible with and without re-entry for V8's optimised code, vs osmo run
 *   syscalls  ns per clock_time_get and per 64-byte fd_write to /dev/null, vs node:wasi
 *   startup   warm start of osmo run [--preemptible] hello.wasm, vs node -e 0 (--against DIR:
 *             and with another built checkout's osmo, interleaved)
 *   cat       osmo run cat.wasm < 1 GiB > /dev/null, vs native cat
 *   coldstart 1, 4 and 8 runs at once of a program not yet instrumented (--against DIR too)
 *   gossip      simulated ages vs the formula table (bench/gossip-table.ts)
 *   daemon      idle CPU, RSS and gossip bytes of a 5-daemon loopback cluster (bench/daemon-idle.ts)
 *   snapshot    image capture/restore throughput (bench/snapshot-io.ts)
 *   instrument  cost of the preemption instrumentation per kernel (bench/instrument-cost.ts)
 *   migration   remote system-call round trip and migration time on loopback (bench/migration.ts)
 *   balance     16 jobs on 4 CPU-confined hosts: makespan vs ideal and vs no balancing (root)
 *   native      osmo run -E: start of /bin/true and 1 GiB through cat, away vs home (bench/native-batch.ts)
 *   mailbox     round trip of a message between programs, one home and two, vs FIFOs (bench/mailbox.ts)
 *   runner      CPU a guest runner's start costs its node, vs a bare Node process (bench/runner-start.ts)
 * With no section named, all of them run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { KERNEL_ARGS } from './kernel-args.js';
import { fmt, geomean, interleaved, streamOneGiB, wallMs } from './measure.js';
import type { Command } from './measure.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const node = process.execPath;
const osmo = join(root, 'bin', 'osmo.js');
const nodeWasi = join(root, 'dist', 'bench', 'node-wasi-runner.js');
const kernelsDir = join(root, 'bench', 'kernels');
const nativeDir = join(root, 'bench', 'native');

const argv = process.argv.slice(2);
const roundsAt = argv.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 5;
const valueAt = new Set(
  ['--rounds', '--against'].map((o) => argv.indexOf(o) + 1).filter((i) => i > 0),
);
const sections = argv.filter((a, i) => !a.startsWith('--') && !valueAt.has(i));
const want = (s: string): boolean => sections.length === 0 || sections.includes(s);

const osmoCmd = (wasm: string, ...args: string[]): Command => ({
  label: `osmo ${wasm}`,
  argv: [node, osmo, 'run', wasm, ...args],
});
const nodeWasiCmd = (wasm: string, ...args: string[]): Command => ({
  label: `node:wasi ${wasm}`,
  argv: [node, '--no-warnings', nodeWasi, wasm, ...args],
});

console.log(`# Osmosis benchmarks\n`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, rounds ${rounds} (interleaved, medians)\n`,
);

if (want('kernels')) {
  if (!existsSync(nativeDir)) mkdirSync(nativeDir, { recursive: true });
  execFileSync('bash', [join(root, 'scripts', 'build-fixtures.sh'), '--native-only', nativeDir], {
    stdio: 'inherit',
  });
  const kernels = ['matmul', 'fib', 'qsort', 'hash', 'nbody', 'mix'];
  console.log('## CPU kernels (wall ms, whole process)\n');
  console.log(
    '| kernel | native gcc -O2 | node:wasi | osmo run | osmo / node:wasi | osmo / native |',
  );
  console.log('|---|---|---|---|---|---|');
  const vsWasi: number[] = [];
  const vsNative: number[] = [];
  for (const k of kernels) {
    const wasm = join(kernelsDir, `${k}.wasm`);
    const [nat, nw, os] = interleaved(
      [{ label: `native ${k}`, argv: [join(nativeDir, k)] }, nodeWasiCmd(wasm), osmoCmd(wasm)],
      rounds,
    ) as [number, number, number];
    vsWasi.push(os / nw);
    vsNative.push(os / nat);
    console.log(
      `| ${k} | ${fmt(nat, 0)} | ${fmt(nw, 0)} | ${fmt(os, 0)} | ${fmt(os / nw, 3)} | ${fmt(os / nat)} |`,
    );
  }
  console.log(
    `| **geomean** | | | | **${fmt(geomean(vsWasi), 3)}** | **${fmt(geomean(vsNative))}** |\n`,
  );
}

if (want('tierup')) {
  // Whole runs as a user starts them: a program runs its main once, so without re-entry a loop in
  // main never leaves V8's baseline code (src/runtime/tier-up.ts, ADR 0011).
  console.log('## Re-entry for optimised code (wall ms, whole process)\n');
  console.log(
    '| kernel | args | osmo run | --preemptible, re-entry off | --preemptible | off / on | --preemptible / osmo run |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const gains: number[] = [];
  const vsPlain: number[] = [];
  for (const [k, argsOf] of Object.entries(KERNEL_ARGS)) {
    const wasm = join(kernelsDir, `${k}.wasm`);
    const args = argsOf(1);
    const pre = (env: Record<string, string>): Command => ({
      label: `osmo --preemptible ${k}`,
      argv: [node, osmo, 'run', '--preemptible', wasm, ...args],
      env,
    });
    wallMs(pre({})); // instruments the kernel into the cache if it is not there yet
    const [plain, off, on] = interleaved(
      [osmoCmd(wasm, ...args), pre({ OSMOSIS_REENTRY: 'off' }), pre({})],
      rounds,
    ) as [number, number, number];
    gains.push(off / on);
    vsPlain.push(on / plain);
    console.log(
      `| ${k} | ${args.join(' ')} | ${fmt(plain, 0)} | ${fmt(off, 0)} | ${fmt(on, 0)} | ${fmt(off / on)} | ${fmt(on / plain)} |`,
    );
  }
  console.log(
    `| **geomean** | | | | | **${fmt(geomean(gains))}** | **${fmt(geomean(vsPlain))}** |\n`,
  );
}

if (want('syscalls')) {
  console.log('## System-call cost (ns per call = (run with 1 M calls − run with 0) / 1 M)\n');
  console.log('| call | node:wasi ns | osmo ns | osmo / node:wasi |');
  console.log('|---|---|---|---|');
  for (const [prog, label] of [
    ['clock1m', 'clock_time_get(MONOTONIC)'],
    ['write1m', 'fd_write 64 B to /dev/null'],
  ] as const) {
    const wasm = join(kernelsDir, `${prog}.wasm`);
    const n = 1_000_000;
    const [nw0, nw1, os0, os1] = interleaved(
      [
        nodeWasiCmd(wasm, '0'),
        nodeWasiCmd(wasm, String(n)),
        osmoCmd(wasm, '0'),
        osmoCmd(wasm, String(n)),
      ],
      rounds,
    ) as [number, number, number, number];
    const nwNs = ((nw1 - nw0) * 1e6) / n;
    const osNs = ((os1 - os0) * 1e6) / n;
    console.log(`| ${label} | ${fmt(nwNs, 0)} | ${fmt(osNs, 0)} | ${fmt(osNs / nwNs)} |`);
  }
  console.log('');
}

if (want('startup')) {
  const hello = join(root, 'examples', 'hello.wasm');
  // --against DIR: the same starts with another built checkout's osmo, interleaved (A/B).
  const againstAt = argv.indexOf('--against');
  const builds = [{ name: 'this build', bin: osmo }];
  if (againstAt >= 0)
    builds.push({ name: argv[againstAt + 1]!, bin: join(argv[againstAt + 1]!, 'bin', 'osmo.js') });
  const starts = builds.flatMap((b) =>
    [[], ['--preemptible']].map((flags) => ({
      label: `${b.name}: osmo run ${flags.join(' ')} hello.wasm`,
      argv: [node, b.bin, 'run', ...flags, hello],
    })),
  );
  const [bare, ...times] = interleaved(
    [{ label: 'node -e 0', argv: [node, '-e', '0'] }, ...starts],
    Math.max(rounds, 10),
  ) as [number, ...number[]];
  console.log('## Warm start\n');
  console.log(
    '| build | node -e 0 ms | osmo run hello.wasm ms | ratio | --preemptible ms | ratio |',
  );
  console.log('|---|---|---|---|---|---|');
  builds.forEach((b, i) => {
    const [plain, preemptible] = [times[2 * i]!, times[2 * i + 1]!];
    console.log(
      `| ${b.name} | ${fmt(bare, 0)} | ${fmt(plain, 0)} | ${fmt(plain / bare)} | ${fmt(preemptible, 0)} | ${fmt(preemptible / bare)} |`,
    );
  });
  console.log('');
}

if (want('coldstart')) {
  // The first runs of a program new to the cache instrument it (binaryen, seconds of CPU): one
  // alone, and 4 and 8 of them started at once, as a user starting a batch of jobs does.
  const migrant = join(root, 'tests', 'fixtures', 'wasm', 'migrant.wasm');
  const againstAt = argv.indexOf('--against');
  const builds = [{ name: 'this build', bin: osmo }];
  if (againstAt >= 0)
    builds.push({ name: argv[againstAt + 1]!, bin: join(argv[againstAt + 1]!, 'bin', 'osmo.js') });
  const counts = [1, 4, 8];
  const batch = (bin: string, n: number): string =>
    `d=$(mktemp -d) && for i in $(seq ${n}); do XDG_CACHE_HOME="$d/cache" "${node}" "${bin}" run ` +
    `--preemptible -h --daemon none "${migrant}" "$d/out$i" 1 1 > /dev/null & done; wait; rm -rf "$d"`;
  const commands = builds.flatMap((b) =>
    counts.map((n) => ({
      label: `${b.name}: ${n} cold at once`,
      argv: [],
      shell: batch(b.bin, n),
    })),
  );
  const times = interleaved(commands, Math.max(3, Math.min(rounds, 5)));
  console.log('## Cold start: N runs of a program not yet instrumented, started at once\n');
  console.log('| build | 1 run ms | 4 at once ms | ratio | 8 at once ms | ratio |');
  console.log('|---|---|---|---|---|---|');
  builds.forEach((b, i) => {
    const [one, four, eight] = times.slice(3 * i, 3 * i + 3) as [number, number, number];
    console.log(
      `| ${b.name} | ${fmt(one, 0)} | ${fmt(four, 0)} | ${fmt(four / one)} | ${fmt(eight, 0)} | ${fmt(eight / one)} |`,
    );
  });
  console.log('');
}

/** The other benchmarks are their own scripts; run them as sections of this one. */
for (const [section, script, args] of [
  ['gossip', 'gossip-table.js', []],
  ['daemon', 'daemon-idle.js', ['20']],
  ['snapshot', 'snapshot-io.js', ['--rounds', String(Math.min(rounds, 5))]],
  ['instrument', 'instrument-cost.js', ['--rounds', String(rounds)]],
  ['migration', 'migration.js', ['--rounds', String(Math.min(rounds, 3))]],
  ['balance', 'balance-cluster.js', ['--rounds', '1']],
  ['native', 'native-batch.js', ['--rounds', String(Math.min(rounds, 5))]],
  ['mailbox', 'mailbox.js', ['--rounds', String(Math.min(rounds, 3))]],
  ['runner', 'runner-start.js', ['--rounds', String(Math.max(rounds, 10))]],
] as const) {
  if (!want(section)) continue;
  console.log(`## ${section} (node dist/bench/${script} ${args.join(' ')})\n`);
  execFileSync(node, [join(root, 'dist', 'bench', script), ...args], { stdio: 'inherit' });
  console.log('');
}

if (want('cat')) {
  const cat = join(root, 'tests', 'fixtures', 'wasm', 'cat.wasm');
  const [nat, os] = streamOneGiB(
    [
      { label: 'native cat', shell: (feed) => `${feed} | cat > /dev/null` },
      {
        label: 'osmo cat',
        shell: (feed) => `${feed} | "${node}" "${osmo}" run "${cat}" > /dev/null`,
      },
    ],
    rounds,
  ) as [number, number];
  console.log('## Streaming 1 GiB through stdin → stdout\n');
  console.log('| native cat MB/s | osmo run cat.wasm MB/s | osmo / native |');
  console.log('|---|---|---|');
  console.log(`| ${fmt(nat, 0)} | ${fmt(os, 0)} | ${fmt(os / nat)} |\n`);
}
