/**
 * A chaos soak: a real cluster of three daemons on loopback runs real programs while each is hit,
 * every 50–450 ms, with a random `osmo migrate` (n2, n3, home), freeze + continue, checkpoint,
 * Ctrl-Z + continue or `osmo ps`; optionally a daemon or a guest runner is killed with SIGKILL
 * every few seconds. At the end every program's output must equal an uninterrupted run's.
 *
 * Not a test of the suite: it runs for minutes on wall-clock timing, and a seed fixes the choices,
 * not the interleavings. It is how problems no test foresaw are looked for (README, Development).
 *
 *   npm run build && node dist/test/soak/chaos.js [--seed N] [--programs migrant|io]
 *     [--count K] [--balance] [--kill-daemons] [--kill-runners] [--keep]
 *
 * Exit 0 when every program ended as it must, 1 otherwise, 2 on bad arguments.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { fixture, makeScratch, osmo, osmoBin, privateEnv, removeScratch } from '../helpers/osmo.js';
import {
  Cluster,
  ONE_HOST_BALANCING,
  startNodes,
  untilSeesAlive,
} from '../integration/daemon-harness.js';

interface Options {
  readonly seed: number;
  readonly programs: 'migrant' | 'io';
  readonly count: number;
  readonly balance: boolean;
  readonly killDaemons: boolean;
  readonly killRunners: boolean;
  readonly keep: boolean;
}

/** One program under chaos, and what it must print. */
interface Subject {
  readonly index: number;
  readonly name: string;
  readonly child: ChildProcess;
  readonly out: Buffer[];
  readonly err: Buffer[];
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ended: boolean;
  /** What was written to its stdin (the io programs' upper filter must print it uppercased). */
  readonly fed: Buffer[];
  /** Its complete expected output, once known. */
  expected: () => string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      programs: { type: 'string', default: 'migrant' },
      count: { type: 'string' },
      balance: { type: 'boolean', default: false },
      'kill-daemons': { type: 'boolean', default: false },
      'kill-runners': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const count = Number(values.count ?? (values.programs === 'io' ? 6 : 4));
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error('--seed must be an integer ≥ 0');
  if (!Number.isSafeInteger(count) || count < 1) throw new Error('--count must be an integer ≥ 1');
  if (values.programs !== 'migrant' && values.programs !== 'io') {
    throw new Error("--programs must be 'migrant' or 'io'");
  }
  return {
    seed,
    programs: values.programs,
    count,
    balance: values.balance,
    killDaemons: values['kill-daemons'],
    killRunners: values['kill-runners'],
    keep: values.keep,
  };
}

/** A seeded linear congruential stream: the soak's choices, not its timing, repeat. */
function seeded(seed: number): () => number {
  let s = seed % 2147483648;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(o: Options): Promise<number> {
  const random = seeded(o.seed);
  const dir = makeScratch();
  const env = privateEnv(dir);
  const cluster = new Cluster();
  const log: string[] = [];
  const note = (line: string): void => {
    log.push(`${(performance.now() / 1000).toFixed(2)} ${line}`);
  };
  let keepDir = o.keep;
  try {
    await startNodes(cluster, {
      dir,
      secret: 'chaos-soak-secret-0123456789abcdef',
      nodes: 3,
      ...(o.balance ? { extra: ONE_HOST_BALANCING } : {}),
    });
    const daemon = join(dir, 'n1.sock');
    await untilSeesAlive(daemon, 3, 'n1 sees all 3 nodes');
    const subjects =
      o.programs === 'migrant'
        ? await migrantSubjects(o, dir, env, daemon)
        : await ioSubjects(o, dir, env, daemon, random);
    for (const s of subjects) {
      void s.done.then((r) => {
        s.ended = true;
        note(`p${s.index} ${s.name} ended ${JSON.stringify(r)}`);
      });
    }
    const act = async (s: Subject, args: string[]): Promise<void> => {
      const r = await osmo(args, { env, deadlineMs: 60_000 });
      note(`p${s.index} ${args.join(' ')} -> ${r.status} ${r.stderr.trim().slice(0, 200)}`);
    };
    const chaos = async (s: Subject): Promise<void> => {
      const pid = String(s.child.pid);
      await sleep(300);
      while (!s.ended) {
        const x = random();
        const node = ['n2', 'n3', 'home'][Math.floor(random() * 3)]!;
        if (x < 0.45) await act(s, ['migrate', pid, node]);
        else if (x < 0.6) {
          await act(s, ['freeze', pid]);
          await sleep(100 + random() * 300);
          await act(s, ['continue', pid]);
        } else if (x < 0.75) await act(s, ['checkpoint', pid, '-o', join(dir, `ck${s.index}.img`)]);
        else if (x < 0.85) {
          signal(s.child, 'SIGTSTP');
          await sleep(100 + random() * 300);
          signal(s.child, 'SIGCONT');
          note(`p${s.index} stopped and continued`);
        } else await act(s, ['ps', '--json']);
        await sleep(50 + random() * 400);
      }
    };
    const running = (): boolean => subjects.some((s) => !s.ended);
    const daemonKiller = async (): Promise<void> => {
      while (o.killDaemons && running()) {
        await sleep(4000 + random() * 6000);
        const live = cluster.daemons.filter(
          (d) => d.child.exitCode === null && d.child.signalCode === null,
        );
        const victim = live[Math.floor(random() * live.length)];
        if (victim === undefined || !running()) continue;
        victim.child.kill('SIGKILL');
        await victim.exited;
        note(`killed daemon ${victim.name}`);
        await sleep(500 + random() * 1000);
        cluster.start(victim.options);
      }
    };
    const runnerKiller = async (): Promise<void> => {
      while (o.killRunners && running()) {
        await sleep(3000 + random() * 5000);
        const daemons = new Set(cluster.daemons.map((d) => String(d.child.pid)));
        const runners = execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' })
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => daemons.has(f[1] ?? '') && f.includes('runner'));
        const victim = runners[Math.floor(random() * runners.length)];
        if (victim === undefined) continue;
        if (signal(Number(victim[0]), 'SIGKILL')) note(`killed runner ${victim[0]}`);
      }
    };
    await Promise.all([...subjects.map(chaos), daemonKiller(), runnerKiller()]);

    let bad = 0;
    for (const s of subjects) {
      const { code, signal: sig } = await s.done;
      const got = Buffer.concat(s.out).toString();
      const want = s.expected();
      // A guest runner killed takes its program with it (crash recovery is not built): the
      // program must then say so (exit 69) and have printed a clean prefix of its output.
      const lostAsDesigned = o.killRunners && code === ExitCode.UNAVAILABLE && want.startsWith(got);
      const ok = (code === 0 && got === want) || lostAsDesigned;
      if (!ok) bad++;
      const shape =
        got === want
          ? 'identical'
          : want.startsWith(got)
            ? `a prefix (${got.length} of ${want.length} bytes)`
            : 'DIFFERENT';
      console.log(
        `p${s.index} ${s.name}: exit ${code ?? sig}, output ${shape}${ok ? '' : '  <-- wrong'}` +
          `${s.err.length > 0 ? `; stderr: ${Buffer.concat(s.err).toString().trim().slice(0, 300)}` : ''}`,
      );
    }
    const actions = log.filter((l) => l.includes(' -> ')).length;
    console.log(`seed ${o.seed}: ${subjects.length} programs, ${actions} actions, ${bad} wrong`);
    writeFileSync(join(dir, 'chaos.log'), `${log.join('\n')}\n\n${cluster.logTails(200)}\n`);
    keepDir ||= bad > 0;
    if (keepDir) console.log(`actions and the daemons' logs: ${join(dir, 'chaos.log')}`);
    return bad > 0 ? 1 : 0;
  } finally {
    await cluster.stopAll();
    if (!keepDir) removeScratch(dir);
  }
}

/** `--programs migrant`: migrant.wasm, 120 steps of computing, stdout and a file at home. */
async function migrantSubjects(
  o: Options,
  dir: string,
  env: NodeJS.ProcessEnv,
  daemon: string,
): Promise<Subject[]> {
  const steps = ['120', '1500000'];
  const reference = await osmo(
    [
      'run',
      '-h',
      '-L',
      '--daemon',
      'none',
      fixture('migrant'),
      join(dir, 'reference.txt'),
      ...steps,
    ],
    { env, deadlineMs: 300_000 },
  );
  if (reference.status !== 0) throw new Error(`the reference run failed: ${reference.stderr}`);
  const want = reference.stdout.toString();
  return Array.from({ length: o.count }, (_, i) => {
    const s = subject(
      i,
      'migrant',
      o,
      env,
      daemon,
      [fixture('migrant'), join(dir, `p${i}.txt`), ...steps],
      'ignore',
    );
    s.expected = () => want;
    return s;
  });
}

/**
 * `--programs io`: in turn, upper.wasm fed random text through a pipe, readsum.wasm over a 48 MB
 * file at home with computation between its blocks, and migrant.wasm waiting for a stdin ticket
 * before each step (often blocked in a read when hit).
 */
async function ioSubjects(
  o: Options,
  dir: string,
  env: NodeJS.ProcessEnv,
  daemon: string,
  random: () => number,
): Promise<Subject[]> {
  const data = join(dir, 'data.bin');
  writeFileSync(data, randomBytes(48 << 20));
  const readsum = [fixture('readsum'), data, '32768', '3000'];
  const tickets = (file: string): string[] => [fixture('migrant'), file, '60', '300000', 'tickets'];
  const sums = await osmo(['run', '-h', '-L', '--daemon', 'none', ...readsum], {
    env,
    deadlineMs: 300_000,
  });
  const steps = await osmo(
    ['run', '-h', '-L', '--daemon', 'none', ...tickets(join(dir, 'reference.txt'))],
    {
      env,
      input: Buffer.alloc(60, 'x'),
    },
  );
  if (sums.status !== 0 || steps.status !== 0)
    throw new Error(`a reference run failed: ${sums.stderr}${steps.stderr}`);
  return Array.from({ length: o.count }, (_, i) => {
    const kind = (['upper', 'readsum', 'migrant'] as const)[i % 3]!;
    const args =
      kind === 'upper'
        ? [fixture('upper')]
        : kind === 'readsum'
          ? readsum
          : tickets(join(dir, `p${i}.txt`));
    const s = subject(i, kind, o, env, daemon, args, kind === 'readsum' ? 'ignore' : 'pipe');
    if (kind === 'upper') {
      s.expected = () => Buffer.concat(s.fed).toString().toUpperCase();
      void feed(
        s,
        200,
        150,
        () => Buffer.from(randomBytes(Math.floor(random() * 200_000)).toString('base64')),
        random,
      );
    } else if (kind === 'migrant') {
      s.expected = () => steps.stdout.toString();
      void feed(s, 60, 500, () => Buffer.from('x'), random);
    } else s.expected = () => sums.stdout.toString();
    return s;
  });
}

function subject(
  index: number,
  name: string,
  o: Options,
  env: NodeJS.ProcessEnv,
  daemon: string,
  program: readonly string[],
  stdin: 'ignore' | 'pipe',
): Subject {
  // Without the balancer each program stays home until the soak moves it.
  const placement = o.balance ? [] : ['-h', '-L', '--preemptible'];
  const child = spawn(
    process.execPath,
    [osmoBin, 'run', '--daemon', daemon, ...placement, ...program],
    {
      env,
      stdio: [stdin, 'pipe', 'pipe'],
    },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  child.stdin?.on('error', () => undefined); // it may end before reading everything
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { index, name, child, out, err, done, ended: false, fed: [], expected: () => '' };
}

/** Writes `chunks` chunks to the program's stdin at random moments, then closes it. */
async function feed(
  s: Subject,
  chunks: number,
  maxPauseMs: number,
  chunk: () => Buffer,
  random: () => number,
): Promise<void> {
  const stdin = s.child.stdin!;
  for (let k = 0; k < chunks && !s.ended; k++) {
    const c = chunk();
    s.fed.push(c);
    await new Promise((r) => stdin.write(c, r));
    await sleep(random() * maxPauseMs);
  }
  stdin.end();
}

/** Sends a signal; false if the process is gone. */
function signal(target: ChildProcess | number, name: NodeJS.Signals): boolean {
  try {
    if (typeof target === 'number') process.kill(target, name);
    else target.kill(name);
    return true;
  } catch {
    return false;
  }
}

let parsed: Options;
try {
  parsed = options();
} catch (e) {
  console.error(`chaos: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}
process.exitCode = await main(parsed);
