/**
 * A real SLURM cluster on this machine for tests: a private munged (its own key and socket), one
 * slurmctld and one slurmd per node (`slurmd -N NAME`, each on its own loopback port), all in a
 * scratch directory, every daemon in the foreground as a child of the test. Debian:
 * `apt-get install slurmctld slurmd slurm-client munge` (.ci/run installs them).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPorts } from './ports.js';
import { pidExists } from '../../src/platform/pid.js';
import { until } from '../integration/daemon-harness.js';

const PROGRAMS = ['munged', 'slurmctld', 'slurmd', 'srun', 'sbatch', 'scancel', 'sinfo'];

/** Why SLURM tests cannot run here, or undefined when they can. */
export function slurmUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (slurmd starts jobs as their users)';
  const missing = PROGRAMS.filter(
    (p) => spawnSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' }).status !== 0,
  );
  return missing.length === 0
    ? undefined
    : `${missing.join(', ')} not installed (Debian: apt-get install slurmctld slurmd slurm-client munge)`;
}

export interface SlurmSpec {
  /** Scratch directory (the test's); SLURM's files go to `dir`/slurm. */
  readonly dir: string;
  /** Node names, each a slurmd with `cpus` CPUs. */
  readonly nodes: readonly string[];
  readonly cpus: number;
  /** Executable scripts slurmd runs before and after each job on a node. */
  readonly prolog: string;
  readonly epilog: string;
  /** Partitions: name → over-commit factor (OverSubscribe=FORCE:N), every node in each. */
  readonly partitions: Readonly<Record<string, number>>;
}

export class SlurmCluster {
  private readonly children: ChildProcess[] = [];
  private mungePidFile = '';
  private mungeDir = '';
  private scripts = 0;
  /** What srun, sbatch and the rest need in their environment. */
  readonly env: NodeJS.ProcessEnv;
  readonly root: string;

  constructor(private readonly spec: SlurmSpec) {
    this.root = join(spec.dir, 'slurm');
    this.env = { SLURM_CONF: join(this.root, 'slurm.conf') };
  }

  async start(): Promise<void> {
    const { root, spec } = this;
    mkdirSync(join(root, 'state'), { recursive: true });
    for (const n of spec.nodes) mkdirSync(join(root, 'spool', n), { recursive: true });
    // munged wants every directory above its socket searchable by all: not the scratch one.
    this.mungeDir = mkdtempSync(join(tmpdir(), 'osmo-munge-'));
    chmodSync(this.mungeDir, 0o755);
    const munge = join(this.mungeDir, 'socket');
    writeFileSync(join(this.mungeDir, 'key'), randomBytes(1024), { mode: 0o600 });
    this.mungePidFile = join(this.mungeDir, 'munged.pid');
    const m = spawnSync('munged', [
      `--socket=${munge}`,
      `--key-file=${join(this.mungeDir, 'key')}`,
      `--pid-file=${this.mungePidFile}`,
      `--log-file=${join(root, 'munged.log')}`,
      `--seed-file=${join(this.mungeDir, 'seed')}`,
    ]);
    if (m.status !== 0) throw new Error(`munged did not start: ${m.stderr.toString()}`);
    const [ctldPort, ...nodePorts] = await freeUdpPorts(spec.nodes.length + 1);
    writeFileSync(this.env.SLURM_CONF!, this.config(munge, ctldPort!, nodePorts));
    const conf = this.env.SLURM_CONF!;
    this.spawn('slurmctld', ['-D', '-i', '-f', conf]);
    for (const n of spec.nodes) this.spawn('slurmd', ['-D', '-f', conf, '-N', n]);
    await this.untilIdle(60_000);
  }

  private config(munge: string, ctldPort: number, nodePorts: readonly number[]): string {
    const { root, spec } = this;
    const nodes = spec.nodes.join(',');
    return [
      'ClusterName=osmotest',
      'SlurmctldHost=localhost(127.0.0.1)',
      `SlurmctldPort=${ctldPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${munge}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${join(root, 'state')}`,
      `SlurmdSpoolDir=${join(root, 'spool', '%n')}`,
      `SlurmctldPidFile=${join(root, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(root, 'slurmd-%n.pid')}`,
      `SlurmctldLogFile=${join(root, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(root, 'slurmd-%n.log')}`,
      // No cgroups: the machine's hierarchy is not SLURM's to manage.
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'MpiDefault=none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'SchedulerParameters=sched_interval=1',
      // The prolog runs at allocation and srun waits for it: run at a step's launch instead, a
      // prolog longer than ~20 s (guests leaving) times the launch out.
      'PrologFlags=Alloc',
      `Prolog=${spec.prolog}`,
      `Epilog=${spec.epilog}`,
      'KillWait=5',
      ...spec.nodes.map(
        (n, i) =>
          `NodeName=${n} NodeHostname=localhost NodeAddr=127.0.0.1 Port=${nodePorts[i]} CPUs=${spec.cpus} State=UNKNOWN`,
      ),
      ...Object.entries(spec.partitions).map(
        ([name, factor], i) =>
          `PartitionName=${name} Nodes=${nodes} MaxTime=INFINITE State=UP OverSubscribe=FORCE:${factor}${i === 0 ? ' Default=YES' : ''}`,
      ),
      '',
    ].join('\n');
  }

  private spawn(command: string, args: string[]): void {
    const child = spawn(command, args, {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    this.children.push(child);
  }

  /**
   * Submits a batch job of these shell lines to `partition` on `node`, its output to
   * `root`/job-ID.out; resolves with the job id.
   */
  async sbatch(
    partition: string,
    node: string,
    lines: readonly string[],
    env: NodeJS.ProcessEnv,
  ): Promise<string> {
    const script = join(this.root, `script-${++this.scripts}.sh`);
    writeFileSync(script, ['#!/bin/sh', ...lines, ''].join('\n'), { mode: 0o755 });
    const args = ['--parsable', '-p', partition, '-w', node, '-o', join(this.root, 'job-%j.out')];
    const r = await slurmCommand('sbatch', [...args, script], { ...env, ...this.env });
    if (r.status !== 0) throw new Error(`sbatch failed (${r.status}): ${r.stderr}`);
    return r.stdout.trim().split(';')[0]!;
  }

  /** Waits until slurmctld counts every node idle (registered, taking jobs). */
  private async untilIdle(deadlineMs: number): Promise<void> {
    let last = '';
    const allIdle = (): Promise<true | undefined> => {
      const r = spawnSync('sinfo', ['-h', '-N', '-o', '%N %T'], {
        env: { ...process.env, ...this.env },
        encoding: 'utf8',
      });
      last = `${r.stdout}${r.stderr}`;
      const idle = new Set(
        r.stdout
          .split('\n')
          .filter((l) => l.endsWith(' idle'))
          .map((l) => l.split(' ')[0]),
      );
      return Promise.resolve(this.spec.nodes.every((n) => idle.has(n)) ? true : undefined);
    };
    await until(allIdle, deadlineMs, 'every SLURM node idle', 200).catch((e: Error) => {
      throw new Error(`${e.message}: ${last}\n${this.logTail()}`);
    });
  }

  /** The end of slurmctld's log, for a failing test's report. */
  logTail(lines = 20): string {
    try {
      const text = readFileSync(join(this.root, 'slurmctld.log'), 'utf8').trimEnd().split('\n');
      return text.slice(-lines).join('\n');
    } catch {
      return '(no slurmctld log)';
    }
  }

  /**
   * Cancels every job of this cluster and waits until none is left: slurmstepd and a job's tasks
   * outlive slurmd (by design), so a test that failed with a job running would leave them behind.
   */
  private async cancelAll(deadlineMs: number): Promise<void> {
    const env = { ...process.env, ...this.env };
    const jobs = async (): Promise<string[]> =>
      (await slurmCommand('squeue', ['-h', '-o', '%i'], env)).stdout
        .split('\n')
        .filter((id) => id !== '');
    const left = await jobs();
    if (left.length === 0) return;
    await slurmCommand('scancel', left, env);
    // The daemons are stopped after this either way: a job still there then is reported by the
    // test that left it, not here.
    await until(
      async () => ((await jobs()).length === 0 ? true : undefined),
      deadlineMs,
      'no SLURM job left',
      200,
    ).catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.children.length > 0) await this.cancelAll(30_000);
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    let munged = 0;
    try {
      munged = Number(readFileSync(this.mungePidFile, 'utf8').trim());
      process.kill(munged, 'SIGTERM');
    } catch {
      // munged never started, or already gone
    }
    // It writes its seed file as it ends: the directory can go once it has.
    if (munged > 0)
      await until(
        () => Promise.resolve(pidExists(munged) ? undefined : true),
        5_000,
        'munged gone',
        50,
      ).catch(() => undefined);
    if (this.mungeDir !== '') rmSync(this.mungeDir, { recursive: true, force: true });
  }
}

/** Runs a SLURM client command (sbatch, scancel, sinfo…) to its end. */
export function slurmCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
