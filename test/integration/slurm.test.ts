/**
 * SLURM queues, Osmosis spreads (seed 000, III-G): a real SLURM (slurmctld, a slurmd per node,
 * munge) and three real Osmosis daemons on loopback, h1–h3, with `osmo slurm prolog|epilog` as
 * slurm.conf's Prolog and Epilog. An Osmosis job's tasks, over-committed on one home, spread to
 * the other nodes; a job outside Osmosis gets its node to itself (guests leave before it starts,
 * none come until it ends); cancelling an Osmosis job ends its programs wherever they run.
 * Skipped with the reason when SLURM is not installed or the test is not root.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeScratch, osmo, osmoBin, privateEnv, removeScratch } from '../helpers/osmo.js';
import { SlurmCluster, slurmCommand, slurmUnavailable } from '../helpers/slurm.js';
import type { ProcessInfo } from '../../src/process-control/types.js';
import type { WaitingProgram } from './daemon-harness.js';
import {
  Cluster,
  ONE_HOST_BALANCING,
  startNodes,
  startWaiting,
  status,
  until,
  untilSeesAlive,
  whereIs,
} from './daemon-harness.js';

const NODES = ['h1', 'h2', 'h3'];
/** ~2 s of CPU here: a start on another node pays off, and six of them make a short test. */
const STEPS = ['3', '200000000'];

describe('osmo slurm: bad invocations, without SLURM', () => {
  let dir = '';
  before(() => (dir = makeScratch()));
  after(() => removeScratch(dir));
  const slurm = (args: string[], job: NodeJS.ProcessEnv): ReturnType<typeof osmo> => {
    const env = { ...privateEnv(dir) };
    delete env.SLURM_JOB_ID;
    delete env.SLURM_JOBID;
    return osmo(['slurm', ...args, '--daemon', join(dir, 'none.sock')], {
      env: { ...env, ...job },
    });
  };

  it('refuses to run outside slurmd, and never drains a node because no daemon answers', async () => {
    const outside = await slurm(['prolog'], {});
    assert.equal(outside.status, 2);
    assert.match(outside.stderr, /no SLURM_JOB_ID in the environment: osmo slurm runs as/);
    const badId = await slurm(['epilog'], { SLURM_JOB_ID: 'x1' });
    assert.equal(badId.status, 2);
    assert.match(badId.stderr, /SLURM_JOB_ID "x1" is not a job number/);

    const plain = { SLURM_JOB_ID: '7', SLURM_JOB_PARTITION: 'plain' };
    const lenient = await slurm(['prolog'], plain);
    assert.equal(lenient.status, 0, lenient.stderr);
    assert.match(lenient.stderr, /; job 7 runs with this node open to guests\n$/);
    const strict = await slurm(['prolog', '--strict'], plain);
    assert.equal(strict.status, 69, strict.stderr);

    const ours = await slurm(['prolog', '--strict'], {
      SLURM_JOB_ID: '8',
      SLURM_JOB_PARTITION: 'osmosis',
    });
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(
      ours.stdout.toString(),
      'job 8 (partition osmosis) is an Osmosis job: this node stays open to guests\n',
    );
  });
});

describe('osmo slurm: SLURM queues, Osmosis spreads', { skip: slurmUnavailable() }, () => {
  const cluster = new Cluster();
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let slurm: SlurmCluster | undefined;
  const socket = (name: string): string => join(dir, `${name}.sock`);
  const programs: WaitingProgram[] = [];

  before(async () => {
    dir = makeScratch();
    env = privateEnv(dir);
    await startNodes(cluster, {
      dir,
      secret: 'slurm-test-secret-0123456789abcdef',
      nodes: NODES.map((name) => ({ name })),
      extra: ONE_HOST_BALANCING,
    });
    await untilSeesAlive(socket('h1'), 3, 'h1 sees all three nodes');
    const hook = (name: 'prolog' | 'epilog'): string => {
      const file = join(dir, `${name}.sh`);
      writeFileSync(
        file,
        [
          '#!/bin/sh',
          // slurmd gives its hooks SLURM's variables only: every path is spelled out.
          `exec "${process.execPath}" "${osmoBin}" slurm ${name} --daemon "${dir}/$SLURMD_NODENAME.sock" --wait 30 >> "${dir}/hooks-$SLURMD_NODENAME.log" 2>&1`,
          '',
        ].join('\n'),
      );
      chmodSync(file, 0o755);
      return file;
    };
    slurm = new SlurmCluster({
      dir,
      nodes: NODES,
      cpus: 2,
      prolog: hook('prolog'),
      epilog: hook('epilog'),
      partitions: { osmosis: 8, plain: 1 },
    });
    await slurm.start();
  });

  after(async () => {
    for (const p of programs) p.child.stdin?.end();
    await Promise.all(programs.map((p) => p.done));
    await slurm?.stop();
    await cluster.stopAll();
    removeScratch(dir);
  });

  /** The environment of a job submitted at h1 (srun and sbatch pass it on to the tasks). */
  const jobEnv = (): NodeJS.ProcessEnv => ({ ...env, ...slurm!.env, OSMOSIS_DAEMON: socket('h1') });
  const hooksLog = (node: string): string => {
    const file = join(dir, `hooks-${node}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8') : '(no hook has run)';
  };
  /** Resolves once `node` takes guests again (no hold left on it). */
  const untilOpen = (node: string, what: string): Promise<true> =>
    until(
      async () =>
        (await osmo(['ctl', 'status', '--daemon', socket(node)], { env })).stdout
          .toString()
          .startsWith(`${node}: accepting guests`)
          ? true
          : undefined,
      60_000,
      what,
    );
  const guestsOn = async (node: string): Promise<number | undefined> =>
    (await status(socket(node)))?.nodes.find((n) => n.self)?.guests;
  /** The guests of the tests before leave a node's count a moment after their programs ended. */
  const untilNoGuests = (node: string): Promise<true> =>
    until(async () => ((await guestsOn(node)) === 0 ? true : undefined), 30_000, `${node} empty`);

  it('an Osmosis job over-committed on one home spreads over the nodes SLURM did not give it', async () => {
    const local = await osmo(['run', '-h', '-L', fixture('steps'), ...STEPS], { env });
    assert.equal(local.status, 0, local.stderr);
    const tasks = 6;
    const job = await osmo(['run', fixture('steps'), ...STEPS], {
      env: jobEnv(),
      stdinNull: true,
      deadlineMs: 180_000,
      prefix: [
        'srun',
        '-p',
        'osmosis',
        '-w',
        'h1',
        '-n',
        String(tasks),
        '-O',
        '-o',
        join(dir, 'spread-%t.out'),
        '-e',
        join(dir, 'spread-%t.err'),
      ],
    });
    assert.equal(job.status, 0, `${job.stderr}\n${slurm!.logTail()}`);
    const outputs = readdirSync(dir).filter((f) => /^spread-\d+\.out$/.test(f));
    assert.equal(outputs.length, tasks);
    for (const f of outputs)
      assert.equal(readFileSync(join(dir, f), 'utf8'), local.stdout.toString(), f);
    const admitted = (node: string): number =>
      cluster.daemons
        .find((d) => d.name === node)!
        .lines.filter((l) => l.msg === 'guest admitted' && l.peer === 'h1').length;
    assert.ok(
      admitted('h2') + admitted('h3') >= 2,
      `h2 took ${admitted('h2')} and h3 ${admitted('h3')} of h1's ${tasks} tasks\n${cluster.logTails()}`,
    );
    assert.match(hooksLog('h1'), /is an Osmosis job: this node stays open to guests/);
  });

  it('a job outside Osmosis has its node to itself: guests leave first, none come until it ends', async () => {
    const guest = await startWaiting(['--daemon', socket('h1'), '-r', 'h2'], env);
    programs.push(guest);
    const pid = guest.child.pid!;
    assert.equal(await whereIs(socket('h1'), env, pid), 'h2');

    const go = join(dir, 'plain-go');
    const osmoCmd = `"${process.execPath}" "${osmoBin}"`;
    const jobId = await slurm!.sbatch(
      'plain',
      'h2',
      [
        `${osmoCmd} ctl status --daemon "${socket('h2')}" > "${dir}/plain-ctl.txt.part"`,
        `mv "${dir}/plain-ctl.txt.part" "${dir}/plain-ctl.txt"`,
        `while [ ! -e "${go}" ]; do sleep 0.1; done`,
      ],
      jobEnv(),
    );
    const seenByJob = await until(
      () =>
        Promise.resolve(
          existsSync(join(dir, 'plain-ctl.txt'))
            ? readFileSync(join(dir, 'plain-ctl.txt'), 'utf8')
            : undefined,
        ),
      60_000,
      `job ${jobId} starts on h2`,
    );
    // What the job saw when it started: its node reserved for it, no guest left.
    assert.match(
      seenByJob,
      new RegExp(`^h2: reserved for slurm-job-${jobId} \\(takes no guests\\); 0 guests\\n`),
    );
    // Its home chose where it went (h1 or h3); the balancer may move it on since, never to h2.
    const movedTo = await whereIs(socket('h1'), env, pid);
    assert.ok(movedTo === 'h1' || movedTo === 'h3', `the guest runs at ${movedTo}`);
    assert.match(
      hooksLog('h2'),
      new RegExp(`h2: reserved for slurm-job-${jobId} .*; 1 guest expelled\\n  h1:${pid} → h[13]`),
    );
    const refused = await osmo(
      ['run', '--daemon', socket('h1'), '-r', 'h2', fixture('steps'), '1', '1000'],
      { env, deadlineMs: 60_000 },
    );
    assert.equal(refused.status, 0, refused.stderr);
    assert.match(refused.stderr, new RegExp(`h2 is reserved \\(slurm-job-${jobId}\\)`));
    await until(
      async () =>
        (await status(socket('h1')))?.nodes.find((n) => n.name === 'h2')?.status.join() ===
        'reserved'
          ? true
          : undefined,
      10_000,
      'h1 hears that h2 is reserved',
    );

    writeFileSync(go, '');
    await untilOpen('h2', `h2 open again after job ${jobId}`);
    assert.match(
      hooksLog('h2'),
      new RegExp(`h2: released slurm-job-${jobId}; accepting guests\\n`),
    );
    guest.child.stdin!.end('line\n');
    const r = await guest.done;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'ready\ngot: line\n');
  });

  it("a hold whose job ended while its node's epilog could not run is released by a later hook", async () => {
    // As if h3 had gone down under job 999999: its hold outlived the job (SLURM no longer knows it).
    const stale = 'slurm-job-999999';
    // `--wait 0` exits 1 while a guest remains, so let the earlier tests' guests leave h3 first.
    await untilNoGuests('h3');
    const held = await osmo(['ctl', 'reserve', stale, '--wait', '0', '--daemon', socket('h3')], {
      env,
    });
    assert.equal(held.status, 0, held.stderr);
    const jobId = await slurm!.sbatch('plain', 'h3', ['true'], jobEnv());
    await untilOpen('h3', `h3 open again after job ${jobId}`);
    assert.match(
      hooksLog('h3'),
      /h3: released slurm-job-999999: SLURM no longer knows the job \(its epilog never ran here\)\n/,
    );
  });

  it('cancelling an Osmosis job ends its programs wherever they run', async () => {
    await untilNoGuests('h3');
    const jobId = await slurm!.sbatch(
      'osmosis',
      'h1',
      // -L: they stay on h3 (the balancer would bring one back to an idle h1).
      [
        `srun -n 2 -O "${process.execPath}" "${osmoBin}" run -r h3 -L "${fixture('steps')}" 1000 400000000`,
      ],
      jobEnv(),
    );
    const job = `slurm-job-${jobId}`;
    // Each task is tagged with its SLURM job, which osmo ps shows and selects by; a task's WHERE
    // turns to h3 once its start there is done (h3 counts it from its admission).
    const ofJob = async (): Promise<ProcessInfo[]> => {
      const r = await osmo(['ps', '--json', '--job', job, '--daemon', socket('h1')], { env });
      return (JSON.parse(r.stdout.toString()) as { processes: ProcessInfo[] }).processes;
    };
    await until(
      async () => {
        const listed = await ofJob();
        return listed.length === 2 && listed.every((p) => p.where === 'h3' && p.job === job)
          ? true
          : undefined;
      },
      60_000,
      `osmo ps --job ${job} lists both tasks on h3`,
    );
    // h3 knows whose guests it runs: each admission carried the job.
    const hosted = await osmo(['ctl', 'status', '--daemon', socket('h3')], { env });
    assert.equal(
      hosted.stdout.toString().match(new RegExp(`^  h1:\\d+ running \\(job ${job}\\)$`, 'gm'))
        ?.length,
      2,
      hosted.stdout.toString(),
    );
    const cancelled = await slurmCommand('scancel', [jobId], jobEnv());
    assert.equal(cancelled.status, 0, cancelled.stderr);
    await until(
      async () => ((await guestsOn('h3')) === 0 ? true : undefined),
      60_000,
      'h3 has no guest left',
    );
    await until(
      async () => ((await ofJob()).length === 0 ? true : undefined),
      30_000,
      `no process of ${job} left`,
    );
  });
});
