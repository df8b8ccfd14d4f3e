/**
 * What a guest runner costs its node to start (issue 6: every guest placed or moved takes a
 * spare and the pool forks a new one, on a CPU the guests share): CPU time of all its threads from
 * fork until it is ready and its guest worker has booted, against the same for a bare Node
 * process with an IPC channel, with and without one worker thread (bench/probes/process-floor.cjs),
 * rounds interleaved, medians.
 *
 *   npm run build && node dist/bench/runner-start.js [--rounds N] [--against DIR]
 *
 * `--against DIR`: also another built checkout's runner, interleaved (A/B).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { osmoBin, repoRoot } from '../test/helpers/osmo.js';
import { fmt, median } from './measure.js';

const argv = process.argv.slice(2);
const roundsAt = argv.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 10;
const againstAt = argv.indexOf('--against');
const against = againstAt >= 0 ? argv[againstAt + 1] : undefined;
/** After 'ready', the time a runner's worker needs to boot and load its code (~0.1 s here). */
const SETTLE_MS = 700;
const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

interface Subject {
  label: string;
  script: string;
  args: string[];
}
const floor = join(repoRoot, 'bench', 'probes', 'process-floor.cjs');
const runnerArgs = ['runner', '--host', '127.0.0.1', '--daemon-pid', String(process.pid)];
const subjects: Subject[] = [
  { label: 'Node + IPC + listening socket', script: floor, args: [] },
  { label: 'the same + one worker thread (floor)', script: floor, args: ['--worker'] },
  { label: 'osmo runner (spare, worker booted)', script: osmoBin, args: runnerArgs },
  ...(against === undefined
    ? []
    : [
        {
          label: `osmo runner of ${against}`,
          script: join(against, 'bin', 'osmo.js'),
          args: runnerArgs,
        },
      ]),
];

/** utime + stime of every thread of `pid` so far, ms (/proc/PID/stat fields 14 and 15). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

async function startOnce(s: Subject): Promise<{ cpu: number; ready: number }> {
  const t0 = performance.now();
  const child = fork(s.script, s.args, {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: { t?: string }) => m.t === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`${s.label} ended (${code}) before ready`)));
  });
  const ready = performance.now() - t0;
  await sleep(SETTLE_MS);
  const cpu = cpuMs(child.pid!);
  child.kill('SIGTERM');
  await exited;
  return { cpu, ready };
}

const cpu: number[][] = subjects.map(() => []);
const ready: number[][] = subjects.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, s] of subjects.entries()) {
    const one = await startOnce(s);
    cpu[i]!.push(one.cpu);
    ready[i]!.push(one.ready);
  }
}
const floorCpu = median(cpu[1]!);
console.log(`| start | CPU ms (all threads) | × floor | fork → ready ms |`);
console.log(`| ----- | -------------------- | ------- | --------------- |`);
for (const [i, s] of subjects.entries()) {
  const c = median(cpu[i]!);
  console.log(
    `| ${s.label} | ${fmt(c, 0)} | ${fmt(c / floorCpu)} | ${fmt(median(ready[i]!), 0)} |`,
  );
}
console.log(`\n${rounds} rounds, interleaved; CPU counted in 10 ms clock ticks.`);
