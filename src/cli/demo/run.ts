/**
 * `osmo demo`, start to end: a private directory, four confined nodes, the jobs at home with the
 * balancer on (then again with it off), the summary, and — whatever happens, Ctrl-C included —
 * every process it started ended by pid, the cgroups and the directory removed.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { isOsmoError } from '../../core/errors.js';
import { ExitCode } from '../exit-codes.js';
import { fail, warn } from '../report.js';
import {
  CGROUP_V1_CPU,
  CpuConfinement,
  confinementUnavailable,
  removeStaleGroups,
} from './cgroup.js';
import { DemoCluster, lastLogLine } from './cluster.js';
import { keepStateDir, makeStateDir, removeAbandonedStateDirs } from './state-dir.js';
import type { NodeSpec } from './cluster.js';
import { DemoFailure, Interrupted, abortable, throwIfAborted } from './failure.js';
import type { DemoSnapshot, JobRow, NodeRow, RunKind } from './model.js';
import { DemoStore, emptyJob, jobName, seconds } from './model.js';
import { PlainOutput, QuietOutput } from './output.js';
import type { DemoOutput } from './output.js';
import { freeLoopbackPorts } from '../../platform/loopback-ports.js';
import { ProcessSet } from './processes.js';
import type { Started } from './processes.js';
import { PROGRAMS, demoJobs, examplesDir, packageRoot, reportedCpuSeconds } from './programs.js';
import type { JobSpec } from './programs.js';
import { formatSummary, summarise, summaryJson } from './summary.js';
import type { RunRecord, SummaryInput } from './summary.js';
import { Watcher } from './watch.js';
import { counted } from '../../core/counted.js';

export interface DemoOptions {
  readonly jobs: number;
  readonly scale: number;
  readonly monitor: boolean;
  readonly baseline: boolean;
  readonly confine: boolean;
  readonly keep: boolean;
  readonly json: boolean;
  readonly timeoutMs: number;
}

/** Node names, the home first; the last one is the slow node. */
const NODE_NAMES = ['n1', 'n2', 'n3', 'n4'] as const;
/** CPU quota per node when confined: three half CPUs and a quarter. */
const CPU_SHARES = [0.5, 0.5, 0.5, 0.25] as const;
/** Speeds when unconfined: the last node claims half speed (it is not slower: one kernel). */
const UNCONFINED_SPEEDS = [10_000, 10_000, 10_000, 5_000] as const;
const CLUSTER_UP_DEADLINE_MS = 20_000;
const POLL_MS = 500;

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = {
  SIGINT: ExitCode.SIGINT,
  SIGTERM: ExitCode.SIGTERM,
  SIGHUP: ExitCode.SIGHUP,
};

interface LiveModule {
  startLiveView: (store: DemoStore) => { line(text: string): void; stop(): Promise<void> };
}

/**
 * The live view and ink are loaded unbundled, from the tsc output next to the bundle, by a
 * specifier esbuild does not follow (as `osmo mon` does, ADR 0005).
 */
async function loadLiveView(): Promise<LiveModule> {
  const candidates = ['../src/cli/demo/live-view.js', './live-view.js'].map(
    (p) => new URL(p, import.meta.url).href,
  );
  let lastError: unknown;
  for (const href of candidates) {
    try {
      return (await import(href)) as LiveModule;
    } catch (e) {
      if (
        (e as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND' ||
        !String((e as Error).message).includes('live-view.js')
      )
        throw e;
      lastError = e;
    }
  }
  throw lastError;
}

async function makeOutput(o: DemoOptions, store: DemoStore): Promise<DemoOutput> {
  if (!o.monitor || o.json) return new QuietOutput();
  if (!process.stdout.isTTY) return new PlainOutput((t) => process.stdout.write(t));
  // ink renders only the last frame when it believes it runs in CI; on a terminal it must not.
  process.env.CI = 'false';
  if ('CONTINUOUS_INTEGRATION' in process.env) process.env.CONTINUOUS_INTEGRATION = 'false';
  const live = (await loadLiveView()).startLiveView(store);
  return { line: (t) => live.line(t), second: () => undefined, close: () => live.stop() };
}

/** This environment without OSMOSIS_* (a user's settings must not change the demo's nodes). */
function cleanEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OSMOSIS_')) env[k] = v;
  // Process sockets and images stay in the demo's directory; the instrumentation cache is the
  // user's, so a second demo does not instrument the programs again.
  env.XDG_RUNTIME_DIR = join(dir, 'run');
  env.XDG_STATE_HOME = join(dir, 'state');
  env.OSMOSIS_DAEMON = join(dir, 'no-daemon.sock');
  return env;
}

class Demo {
  readonly processes = new ProcessSet();
  readonly controller = new AbortController();
  readonly store: DemoStore;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly osmo: string[];
  readonly examples: string;
  readonly nodes: NodeRow[];
  out: DemoOutput = new QuietOutput();
  private jobPids: number[] = [];

  constructor(
    root: string,
    private readonly secretFile: string,
    dir: string,
    readonly confinement: CpuConfinement | undefined,
  ) {
    const confined = confinement !== undefined;
    this.dir = dir;
    this.env = cleanEnv(dir);
    this.osmo = [process.execPath, join(root, 'bin', 'osmo.js')];
    this.examples = examplesDir(root);
    this.nodes = NODE_NAMES.map((name, i) => ({
      name,
      speed: confined ? Math.round(CPU_SHARES[i]! * 10_000) : UNCONFINED_SPEEDS[i]!,
      cpuShare: confined ? CPU_SHARES[i]! : undefined,
      pid: undefined,
      load: undefined,
      guests: undefined,
      alive: false,
    }));
    this.store = new DemoStore({
      phase: 'starting',
      run: undefined,
      elapsedMs: 0,
      nodes: this.nodes,
      jobs: [],
      migrations: 0,
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  line(text: string): void {
    this.out.line(text);
  }

  /** Fills the instrumentation cache so no timed job pays for it (unconfined, no daemon). */
  async warmUp(): Promise<void> {
    await Promise.all(
      PROGRAMS.map(async (p) => {
        const err = join(this.dir, `warm-${p.name}.err`);
        const fd = openSync(err, 'w', 0o600);
        let s: Started;
        try {
          s = this.processes.spawn(
            `preparing ${p.name}`,
            [
              ...this.osmo,
              'run',
              '--preemptible',
              '-h',
              join(this.examples, `${p.name}.wasm`),
              ...p.warmArgs,
            ],
            { env: this.env, cwd: this.dir, stdio: ['ignore', 'ignore', fd] },
          );
        } finally {
          closeSync(fd);
        }
        const { code, signal } = await abortable(s.exited, this.signal);
        if (code !== 0)
          throw new DemoFailure(
            `preparing ${p.name}.wasm failed (${signal ?? `exit status ${code}`})${lastLogLine(err)}`,
          );
      }),
    );
  }

  async startCluster(kind: RunKind): Promise<DemoCluster> {
    const ports = await freeLoopbackPorts(NODE_NAMES.length);
    const specs: NodeSpec[] = this.nodes.map((n, i) => ({
      name: n.name,
      port: ports[i]!,
      speed: n.speed,
      cpuShare: n.cpuShare,
    }));
    const cluster = DemoCluster.start({
      dir: join(this.dir, kind),
      secretFile: this.secretFile,
      nodes: specs,
      balance: kind === 'balanced',
      processes: this.processes,
      confinement: this.confinement,
      osmo: this.osmo,
      env: this.env,
    });
    this.store.update((s) => ({
      ...s,
      phase: `starting ${specs.length} nodes (balancer ${kind === 'balanced' ? 'on' : 'off'})`,
      nodes: s.nodes.map((n, i) => ({
        ...n,
        pid: cluster.nodes[i]!.process.pid,
        load: undefined,
        guests: undefined,
        alive: false,
      })),
    }));
    return cluster;
  }

  /** `osmo run --daemon HOME -h PROG ARGS`, its stdout and stderr to files. */
  private spawnJob(spec: JobSpec, daemonSocket: string, out: string, err: string): Started {
    const outFd = openSync(out, 'w', 0o600);
    const errFd = openSync(err, 'w', 0o600);
    try {
      return this.processes.spawn(
        jobName({ id: spec.id, program: spec.program.name }),
        [...this.osmo, 'run', '--daemon', daemonSocket, '-h', spec.wasm, ...spec.args],
        { env: this.env, cwd: this.dir, stdio: ['ignore', outFd, errFd] },
      );
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
  }

  async runJobs(
    kind: RunKind,
    cluster: DemoCluster,
    specs: readonly JobSpec[],
  ): Promise<RunRecord> {
    const home = cluster.home.spec.name;
    const runDir = join(this.dir, kind);
    const label = kind === 'balanced' ? 'with migration' : 'without migration (balancer off)';
    this.store.update((s) => ({
      ...s,
      phase: label,
      run: kind,
      elapsedMs: 0,
      migrations: 0,
      jobs: specs.map((j) => emptyJob(j.id, j.program.name, j.args, home)),
    }));
    const t0 = performance.now();
    const elapsed = (): number => performance.now() - t0;
    const stamp = (): string => `t=${seconds(elapsed())}`;
    const setJob = (id: number, change: (j: JobRow) => JobRow): void =>
      this.store.update((s) => ({ ...s, jobs: s.jobs.map((j) => (j.id === id ? change(j) : j)) }));

    const watcher = new Watcher({
      store: this.store,
      daemonSocket: cluster.home.socket,
      procDir: join(this.env.XDG_RUNTIME_DIR!, 'osmosis', 'proc'),
      intervalMs: POLL_MS,
      elapsed,
      onMove: (m) =>
        this.line(
          `${stamp()} ${jobName(m.job)} ${m.from} -> ${m.to}${m.reason === undefined ? '' : ` (${m.reason})`}`,
        ),
    });

    // The first job that fails ends the run, naming it; a node that dies too.
    let settle: (e?: Error) => void = () => undefined;
    const over = new Promise<void>((resolve, reject) => {
      settle = (e) => (e === undefined ? resolve() : reject(e));
    });
    over.catch(() => undefined); // awaited below, unless a signal came first
    let left = specs.length;
    let lastEnd = 0;
    for (const spec of specs) {
      const out = join(runDir, `job-${spec.id}.out`);
      const err = join(runDir, `job-${spec.id}.err`);
      const s = this.spawnJob(spec, cluster.home.socket, out, err);
      this.confinement?.add(home, s.pid);
      this.jobPids.push(s.pid);
      const at = elapsed();
      setJob(spec.id, (j) => ({ ...j, pid: s.pid, state: 'running', startedMs: at }));
      this.line(
        `${stamp()} ${jobName({ id: spec.id, program: spec.program.name })} started at ${home}: ${spec.program.name} ${spec.args.join(' ')}, pid ${s.pid}`,
      );
      void s.exited.then(({ code, signal }) => {
        const end = elapsed();
        const text = safeRead(out);
        const cpu = reportedCpuSeconds(text);
        const ok = code === 0;
        let where = home;
        setJob(spec.id, (j) => {
          where = j.where;
          return {
            ...j,
            state: ok ? 'done' : 'failed',
            endedMs: end,
            exitCode: code ?? undefined,
            reportedCpuSec: cpu,
            result: text.trim().split('\n').at(-1),
          };
        });
        if (!ok) {
          if (!this.signal.aborted)
            settle(
              new DemoFailure(
                `job ${spec.id} (${spec.program.name}) failed on ${where} (${signal ?? `exit status ${code}`})${lastLogLine(err)}`,
              ),
            );
          return;
        }
        this.line(
          `${stamp()} ${jobName({ id: spec.id, program: spec.program.name })} ended on ${where}: exit 0${cpu === undefined ? '' : `, cpu ${cpu.toFixed(2)} s`}`,
        );
        lastEnd = Math.max(lastEnd, end);
        if (--left === 0) settle();
      });
    }
    for (const node of cluster.nodes)
      void node.process.exited.then(() => {
        if (left > 0 && !this.signal.aborted) settle(cluster.failureOf(node, 'died'));
      });

    watcher.start();
    const ticker = setInterval(() => {
      this.store.update((s) => ({ ...s, elapsedMs: elapsed() }));
      this.out.second(this.store.snapshot);
    }, 1000);
    try {
      await abortable(over, this.signal);
      await watcher.pollOnce(); // the nodes as the run leaves them
    } finally {
      clearInterval(ticker);
      await watcher.stop();
    }
    this.store.update((s) => ({ ...s, elapsedMs: lastEnd }));
    const snap: DemoSnapshot = this.store.snapshot;
    this.line(
      `${kind === 'balanced' ? 'with migration' : 'without migration'}: all ${specs.length} jobs ended in ${seconds(lastEnd)}${kind === 'balanced' ? `, ${counted(snap.migrations, 'migration')}` : ''}`,
    );
    return {
      kind,
      makespanMs: lastEnd,
      migrations: snap.migrations,
      jobs: snap.jobs,
      nodePids: cluster.pids(),
    };
  }

  async run(kind: RunKind, specs: readonly JobSpec[], warm?: Promise<void>): Promise<RunRecord> {
    const cluster = await this.startCluster(kind);
    this.line(
      `${kind === 'balanced' ? 'run 1' : 'run 2'}: ${cluster.nodes.map((n) => `${n.spec.name} pid ${n.process.pid}`).join(', ')} (balancer ${kind === 'balanced' ? 'on' : 'off'})`,
    );
    const t0 = performance.now();
    await abortable(
      Promise.all([cluster.waitAlive(CLUSTER_UP_DEADLINE_MS, this.signal), warm]),
      this.signal,
    );
    this.line(
      `cluster up: ${cluster.nodes.length} nodes alive after ${seconds(performance.now() - t0)}`,
    );
    const record = await this.runJobs(kind, cluster, specs);
    this.store.update((s) => ({
      ...s,
      phase: `${s.phase}: done in ${seconds(record.makespanMs)}`,
    }));
    await cluster.stop();
    return record;
  }

  /** Ends everything this demo started and removes the cgroups; returns what went wrong. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    await this.processes.terminate(this.jobPids);
    // The guest runners the daemons forked, while their daemons live to reap them.
    const runners = this.processes.adoptDescendants(this.processes.pids());
    await this.processes.terminate(runners);
    const left = await this.processes.terminate(this.processes.pids());
    if (left.length > 0) problems.push(`processes ${left.join(', ')} did not end`);
    if (this.confinement !== undefined) {
      // Its members are ours and have been ended; wait for the kernel to see them gone.
      const end = Date.now() + 3000;
      let busy = this.confinement.removeEmpty();
      while (busy.length > 0 && Date.now() < end) {
        await delay(50);
        const stray = this.confinement.members();
        if (stray.length > 0) await this.processes.terminate(stray, 500);
        busy = this.confinement.removeEmpty();
      }
      if (busy.length > 0) problems.push(`could not remove ${busy.join(', ')}`);
    }
    return problems;
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Confines the nodes' CPU if it can; otherwise says why not. */
function confine(wanted: boolean): { confinement?: CpuConfinement; why?: string } {
  const why = wanted ? confinementUnavailable() : 'turned off by --no-confine';
  if (why !== undefined) return { why };
  removeStaleGroups();
  try {
    return {
      confinement: CpuConfinement.create(
        new Map(NODE_NAMES.map((name, i) => [name, CPU_SHARES[i]!])),
      ),
    };
  } catch (e) {
    return {
      why: `cannot create cgroups under ${CGROUP_V1_CPU}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    };
  }
}

export async function runDemo(o: DemoOptions): Promise<number> {
  removeAbandonedStateDirs(tmpdir());
  const dir = makeStateDir(tmpdir());
  const { confinement, why } = confine(o.confine);
  let demo: Demo;
  try {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    demo = new Demo(packageRoot(), secretFile, dir, confinement);
  } catch (e) {
    confinement?.removeEmpty();
    rmSync(dir, { recursive: true, force: true });
    return fail(e);
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    // A second signal while cleaning up: no more waiting.
    if (++signals > 1) demo.processes.killAllNow();
    if (!demo.signal.aborted) demo.controller.abort(new Interrupted(sig));
  };
  // Only if the demo dies of a bug: nothing can be awaited any more.
  const onExit = (): void => {
    demo.processes.killAllNow();
    if (o.keep) keepStateDir(dir);
    else rmSync(dir, { recursive: true, force: true });
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  process.on('exit', onExit);
  const timeout = setTimeout(
    () =>
      demo.controller.abort(
        new DemoFailure(
          `the demo did not finish within ${o.timeoutMs / 1000} s; jobs still running: ${demo.store.snapshot.jobs
            .filter((j) => j.state !== 'done' && j.state !== 'failed')
            .map((j) => `${j.id} (${j.program} on ${j.where})`)
            .join(', ')} — raise --timeout, or lower --scale`,
        ),
      ),
    o.timeoutMs,
  );

  const cores = availableParallelism();
  let exitCode = 0;
  let failure: string | undefined;
  let input: SummaryInput | undefined;
  try {
    demo.out = await makeOutput(o, demo.store);
    demo.line(
      confinement === undefined
        ? `CPU not confined (${why}): the 4 nodes share this machine's ${cores} cores; n4 only claims to be slower`
        : `CPU confined by cgroup v1 (${confinement.dir}): ${demo.nodes.map((n) => `${n.name} ${n.cpuShare} CPU, speed ${n.speed}`).join('; ')}`,
    );
    demo.line(`state directory ${dir}`);
    const specs = demoJobs(o.jobs, o.scale, demo.examples);
    const warm = demo.warmUp();
    warm.catch(() => undefined);
    const balanced = await demo.run('balanced', specs, warm);
    throwIfAborted(demo.signal);
    const baseline = o.baseline ? await demo.run('baseline', specs) : undefined;
    input = {
      nodes: demo.nodes,
      cores,
      confined: demo.confinement !== undefined,
      balanced,
      baseline,
    };
  } catch (e) {
    const reason = demo.signal.aborted ? (demo.signal.reason as unknown) : e;
    if (reason instanceof Interrupted) {
      exitCode = SIGNAL_EXIT[reason.signal] ?? ExitCode.SIGINT;
      failure = `interrupted by ${reason.signal}`;
    } else if (reason instanceof DemoFailure) {
      exitCode = 1;
      failure = reason.message;
    } else if (isOsmoError(reason)) {
      failure = reason.message;
      exitCode = 1;
    } else {
      exitCode = ExitCode.INTERNAL;
      failure = `internal error: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`;
    }
  } finally {
    clearTimeout(timeout);
  }

  demo.store.update((s) => ({ ...s, phase: failure === undefined ? 'done' : 'stopping' }));
  await demo.out.close();
  const problems = await demo.cleanup();
  const pids = demo.processes.pids();
  if (o.keep) keepStateDir(dir);
  else rmSync(dir, { recursive: true, force: true });
  process.off('exit', onExit);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);

  const ended = `stopped ${pids.length} processes (pids ${pids.join(' ')})${demo.confinement === undefined ? '' : ', removed the cgroups'}; ${o.keep ? `kept ${dir}` : `removed ${dir}`}`;
  if (problems.length > 0) {
    warn(`demo: cleanup: ${problems.join('; ')}`);
    if (exitCode === 0) exitCode = 1;
  }
  if (o.json) {
    const summary = input === undefined ? undefined : summarise(input);
    process.stdout.write(
      JSON.stringify(
        {
          ok: exitCode === 0,
          exitCode,
          ...(failure === undefined ? {} : { error: failure }),
          stateDir: dir,
          kept: o.keep,
          pids,
          ...(input === undefined || summary === undefined ? {} : summaryJson(input, summary)),
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const summary =
      input !== undefined && failure === undefined ? formatSummary(input, summarise(input)) : [];
    process.stdout.write([...summary, ended].join('\n') + '\n');
  }
  if (failure !== undefined) {
    // Where the logs are (nodes' nK.log, jobs' job-N.err), on the same line.
    const logs = exitCode === 1 ? (o.keep ? ` — logs in ${dir}` : ' — --keep keeps the logs') : '';
    warn(`demo: ${failure}${logs}`);
  }
  return exitCode;
}
