import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeView } from '../../helpers/node-view.js';
import { seededRandom } from '../../../src/core/random.js';
import { DEFAULT_BALANCE_SETTINGS } from '../../../src/balance/policy.js';
import type { NodeView } from '../../../src/balance/policy.js';
import { HomeBalancer } from '../../../src/daemon/home-balancer.js';
import type { ProgramLink } from '../../../src/daemon/home-balancer.js';
import { Logger } from '../../../src/platform/logger.js';
import type { MigrateResult, ProcessInfo } from '../../../src/process-control/types.js';

const node = nodeView;

/** Programs that answer `info` from a table and record `migrate` calls; time is simulated. */
function harness(
  options: {
    refuse?: boolean;
    maxLocalProcesses?: number;
    frozenTurnMs?: number;
    /** Each move's image and its time on the wire, as the real deputy reports its last move. */
    moved?: Pick<MigrateResult, 'imageBytes' | 'transferMs'>;
  } = {},
) {
  let now = 0;
  const lines: Record<string, unknown>[] = [];
  const log = new Logger(
    { write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) },
    'info',
    {},
  );
  const programs = new Map<number, ProcessInfo>();
  const migrations: [number, string][] = [];
  const freezes: number[] = [];
  const continues: number[] = [];
  const expectedQueues: (number | undefined)[] = [];
  const gone = new Set<number>();
  let connects = 0;
  const connect = (_socket: string, pid: number): Promise<ProgramLink> => {
    connects++;
    if (gone.has(pid)) return Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' }));
    return Promise.resolve({
      info: () => Promise.resolve({ ...programs.get(pid)! }),
      migrate: (to: string, expectedQueue?: number) => {
        migrations.push([pid, to]);
        expectedQueues.push(expectedQueue);
        if (options.refuse === true) return Promise.reject(new Error(`${to} is full`));
        const p = programs.get(pid)!;
        if (options.moved !== undefined) {
          p.migrations = (p.migrations ?? 0) + 1;
          p.lastMove = { from: p.where === 'n1' ? 'home' : p.where, to, ms: 0, ...options.moved };
        }
        p.where = to;
        return Promise.resolve({});
      },
      freeze: () => {
        freezes.push(pid);
        programs.get(pid)!.state = 'frozen';
        return Promise.resolve({});
      },
      continue: () => {
        continues.push(pid);
        programs.get(pid)!.state = 'running';
        return Promise.resolve();
      },
      close: () => undefined,
    });
  };
  let view: NodeView[] = [];
  const balancer = new HomeBalancer({
    clock: { now: () => now },
    random: seededRandom(3),
    log,
    home: 'n1',
    enabled: true,
    intervalMs: 1000,
    settleMs: 6000,
    settings: { ...DEFAULT_BALANCE_SETTINGS, home: 'n1' },
    view: () => view,
    connect,
    ...(options.maxLocalProcesses === undefined
      ? {}
      : { maxLocalProcesses: options.maxLocalProcesses }),
    ...(options.frozenTurnMs === undefined ? {} : { frozenTurnMs: options.frozenTurnMs }),
  });
  const add = (pid: number, over: Partial<ProcessInfo> = {}): void => {
    programs.set(pid, {
      pid,
      home: 'n1',
      where: 'n1',
      state: 'running',
      // It has computed a while: a move gains it more than four times its image's time on the
      // link (moveGainFactor) even when it is not the only one to leave.
      cpuTimeMs: 10_000,
      memoryBytes: 64 << 20,
      startedAt: new Date(0).toISOString(),
      command: ['job'],
      preemptible: true,
      movable: true,
      since: new Date(0).toISOString(),
      syscalls: 0,
      ioBytes: 0,
      ...over,
    });
    balancer.adopt({ pid, socket: `/nowhere/${pid}.sock` });
  };
  /** One second passes: every program computed for all of it. */
  const second = async (): Promise<void> => {
    now += 1000;
    for (const p of programs.values()) p.cpuTimeMs += 1000;
    await balancer.tick();
    await new Promise((r) => setImmediate(r)); // moves run after the round
  };
  return {
    balancer,
    add,
    second,
    migrations,
    freezes,
    continues,
    programs,
    expectedQueues,
    gone,
    lines,
    setView: (v: NodeView[]) => (view = v),
    connects: () => connects,
  };
}

describe('HomeBalancer', () => {
  it('moves computing programs off an overloaded home, with the reason logged', async () => {
    const h = harness();
    h.setView([node('n1', 3), node('n2', 0), node('n3', 0)]);
    h.add(101);
    h.add(102);
    h.add(103, { movable: false });
    await h.second(); // first reading: no rates yet
    assert.equal(h.migrations.length, 0);
    await h.second();
    assert.deepEqual(h.migrations.map(([pid]) => pid).sort(), [101, 102]);
    assert.deepEqual(h.migrations.map(([, to]) => to).sort(), ['n2', 'n3']);
    const logged = h.lines.filter((l) => l.msg === 'automatic migration');
    assert.equal(logged.length, 2);
    assert.ok(logged.every((l) => l.reason === 'load' && l.from === 'n1'));
    assert.equal(h.balancer.latestMigrations().filter((m) => m.result === 'ok').length, 2);
    assert.equal(h.balancer.runningHere(), 1);
    // Each load move tells its target what it counted on there (idle): the target's consent.
    assert.deepEqual(h.expectedQueues, [0, 0]);
  });

  /**
   * A program that left home 5 s ago (the no-return time is 10 s) for n2, read for two seconds:
   * each second its deputy at home is busy (all of cpuTimeMs grows by 1000 ms), while its runner
   * on n2 uses `awayCpuMs`, makes `calls` and, if given, measures `waitMs` of waiting on home.
   */
  const readingHomeAway = async (per: { awayCpuMs: number; calls: number; waitMs?: number }) => {
    const h = harness();
    h.setView([node('n1', 0), node('n2', 1)]);
    h.add(201, {
      where: 'n2',
      cameFrom: 'n1',
      migrations: 1,
      since: new Date(Date.now() - 5000).toISOString(),
      awayCpuTimeMs: 0,
      ...(per.waitMs === undefined ? {} : { awayHomeWaitMs: 0 }),
    });
    for (let second = 0; second < 2; second++) {
      const p = h.programs.get(201)!;
      p.awayCpuTimeMs! += per.awayCpuMs;
      p.syscalls! += per.calls;
      if (per.waitMs !== undefined) p.awayHomeWaitMs! += per.waitMs;
      await h.second();
    }
    return h;
  };

  it("reads a program away by its runner's CPU, not its deputy's: one reading home's files comes home", async () => {
    // 3000 calls × 100 µs per 0.3 s of its runner's CPU: it waits as long as it computes.
    const h = await readingHomeAway({ awayCpuMs: 300, calls: 3000 });
    assert.deepEqual(h.migrations, [[201, 'home']]);
    const logged = h.lines.find((l) => l.msg === 'automatic migration');
    assert.equal(logged?.reason, 'home');
  });

  it('takes the waits on home a runner measured over the estimate from the call rate', async () => {
    // 1000 calls a second would be 0.1 s of waiting by the estimate (100 µs each); the runner
    // measured 0.8 s: each call takes that long from a node whose CPU it shares.
    const h = await readingHomeAway({ awayCpuMs: 300, calls: 1000, waitMs: 800 });
    assert.deepEqual(h.migrations, [[201, 'home']]);
    // Without the measure, the estimate keeps it away until the no-return time is over.
    assert.deepEqual((await readingHomeAway({ awayCpuMs: 300, calls: 1000 })).migrations, []);
  });

  it('charges a move by the link its earlier moves measured to that node', async () => {
    // 1 GiB images; the first move reports 80 s on the wire to n2: a 100 Mbit line (13 MB/s).
    const h = harness({ moved: { imageBytes: 1 << 30, transferMs: 80_000 } });
    const big = { memoryBytes: 1 << 30, cpuTimeMs: 60_000 };
    h.setView([node('n1', 2), node('n2', 0), node('n3', 9)]);
    h.add(101, big);
    h.add(102, big);
    await h.second();
    await h.second();
    assert.deepEqual(h.migrations, [[101, 'n2']]);
    await h.second(); // the program's next reading reports its move
    const measured = h.balancer.measuredLinks();
    assert.deepEqual(Object.keys(measured), ['n2']);
    assert.ok(Math.abs(measured.n2! - (1 << 30) / 80) < 1, String(measured.n2));
    // Past the first move's settle time, two programs at home again and n2 and n3 both idle: at
    // 100 MB/s (n3, not measured) 1 GiB costs 11 s, worth it for ~70 s of work; over n2's
    // measured link 80 s, not worth it.
    h.add(103, big);
    h.setView([node('n1', 2), node('n2', 1), node('n3', 9)]);
    for (let s = 0; s < 6; s++) await h.second();
    assert.equal(h.migrations.length, 1);
    h.setView([node('n1', 2), node('n2', 0), node('n3', 0)]);
    await h.second();
    await h.second();
    assert.deepEqual(h.migrations.slice(1), [[102, 'n3']]);
  });

  it('learns a link from a move its user made (osmo migrate), once per move', async () => {
    const h = harness();
    h.setView([node('n1', 0), node('n3', 0)]);
    const MiB = 1 << 20;
    // Moved to n3 by hand before this reading: 64 MiB in 2 s.
    h.add(301, {
      where: 'n3',
      migrations: 1,
      lastMove: { from: 'home', to: 'n3', ms: 2100, imageBytes: 64 * MiB, transferMs: 2000 },
    });
    await h.second();
    assert.deepEqual(h.balancer.measuredLinks(), { n3: (64 * MiB) / 2 });
    await h.second(); // the same move read again: not counted twice
    assert.deepEqual(h.balancer.measuredLinks(), { n3: (64 * MiB) / 2 });
    // Back home over a faster moment of the link: 64 MiB in 1 s; the two moves weigh alike.
    const p = h.programs.get(301)!;
    p.where = 'n1';
    p.migrations = 2;
    p.lastMove = { from: 'n3', to: 'home', ms: 1100, imageBytes: 64 * MiB, transferMs: 1000 };
    await h.second();
    const rate = h.balancer.measuredLinks().n3!;
    assert.equal(rate, (64 * MiB * 1.5) / 2, String(rate));
  });

  it('records a refused move and keeps the program', async () => {
    const h = harness({ refuse: true });
    h.setView([node('n1', 2), node('n2', 0)]);
    h.add(201);
    h.add(202);
    await h.second();
    await h.second();
    assert.equal(h.migrations.length, 1);
    const [event] = h.balancer.latestMigrations();
    assert.match(event!.result, /n2 is full/);
    assert.ok(h.lines.some((l) => l.msg === 'automatic migration failed'));
    assert.equal(h.balancer.watched, 2);
  });

  it('spreads programs started together: its own slow load does not hide the ones it kept', () => {
    const h = harness();
    // The gossip view shows an idle home the whole time, as it would for the first seconds.
    h.setView([node('n1', 0), node('n2', 0), node('n3', 0)]);
    const picks = Array.from({ length: 6 }, () => h.balancer.startNode(0));
    const starts = picks.map((p) => p.node);
    const count = (n: string) => starts.filter((s) => s === n).length;
    assert.deepEqual([count('n1'), count('n2'), count('n3')], [2, 2, 2]);
    // Each start tells its node what it counted on there (its consent): the earlier starts.
    picks.forEach((p, i) => {
      const before = starts.slice(0, i).filter((s) => s === p.node).length;
      assert.equal(p.expectedQueue, before, `start ${i} on ${p.node}`);
    });
  });

  it('chooses again without the nodes that refused a start, never without home', () => {
    const h = harness();
    h.setView([node('n1', 3), node('n2', 0), node('n3', 1)]);
    assert.equal(h.balancer.startNode(0).node, 'n2');
    assert.equal(h.balancer.startNode(0, ['n2']).node, 'n3');
    assert.equal(h.balancer.startNode(0, ['n2', 'n3']).node, 'n1');
    assert.equal(h.balancer.startNode(0, ['n1', 'n2', 'n3']).node, 'n1');
  });

  it('counts programs called home until its load shows them: no recall storm', async () => {
    const h = harness();
    // Four programs away on a busy n2 while home looks idle (its load rises slowly).
    h.setView([node('n1', 0), node('n2', 4)]);
    for (const pid of [401, 402, 403, 404]) h.add(pid, { where: 'n2' });
    await h.second();
    await h.second();
    await h.second();
    // Without counting the first arrivals, every round would call more of them home.
    assert.deepEqual(
      h.migrations.map(([, to]) => to),
      ['home', 'home'],
    );
  });

  it('reads each program over one connection kept from round to round', async () => {
    const h = harness();
    h.setView([node('n1', 1)]);
    h.add(501);
    for (let i = 0; i < 5; i++) await h.second();
    assert.equal(h.connects(), 1);
  });

  it('forgets a program that is gone, and refuses a malformed adoption', async () => {
    const h = harness();
    h.setView([node('n1', 1)]);
    h.add(301);
    h.gone.add(301);
    await h.second();
    assert.equal(h.balancer.watched, 0);
    assert.throws(() => h.balancer.adopt({ pid: -1, socket: '' }), /adopt needs/);
  });

  it('lists a program as it described itself when adopted, until it reads it', async () => {
    const h = harness();
    h.setView([node('n1', 0), node('n2', 0)]);
    const said = (where: string): ProcessInfo => ({
      pid: 601,
      home: 'n1',
      where,
      state: 'running',
      cpuTimeMs: 0,
      memoryBytes: 1 << 20,
      startedAt: new Date(0).toISOString(),
      command: ['job'],
      preemptible: true,
    });
    h.balancer.adopt({ pid: 601, socket: '/nowhere/601.sock', info: said('n2') });
    // Stopped at once (Ctrl-Z), it may never answer a reading: osmo ps still lists it.
    assert.deepEqual(
      h.balancer.programInfos().map((p) => `${p.info.pid} ${p.info.where}`),
      ['601 n2'],
    );
    h.balancer.adopt({ pid: 601, socket: '/nowhere/601.sock', info: said('n3') });
    assert.equal(h.balancer.programInfos()[0]?.info.where, 'n3', 'a renewal says it anew');
    // Not trusted for another pid, nor when it is not a ProcessInfo.
    h.balancer.adopt({ pid: 602, socket: '/nowhere/602.sock', info: said('n2') });
    h.balancer.adopt({ pid: 603, socket: '/nowhere/603.sock', info: { pid: 603 } });
    assert.deepEqual(
      h.balancer.programInfos().map((p) => p.info.pid),
      [601],
    );
    // Once read, its own reading is what counts.
    h.programs.set(601, { ...said('n1'), cpuTimeMs: 5 });
    await h.balancer.tick();
    h.balancer.adopt({ pid: 601, socket: '/nowhere/601.sock', info: said('n3') });
    assert.equal(h.balancer.programInfos()[0]?.info.where, 'n1');
  });

  it('sends an expelled program to another node than the expelling one, or home if it is -L', async () => {
    const h = harness();
    // n2 looks best, but it is the one expelling: never chosen.
    h.setView([node('n1', 4), node('n2', 0), node('n3', 1)]);
    h.add(501, { where: 'n2' });
    h.add(502, { where: 'n2', movable: false });
    await h.balancer.tick(); // read once: where they run, whether they may move
    const to501 = h.balancer.expel(501, 'n2');
    const to502 = h.balancer.expel(502, 'n2');
    await new Promise((r) => setImmediate(r));
    assert.notEqual(to501, 'n2');
    assert.equal(to502, 'n1');
    assert.deepEqual(h.migrations.sort(), [
      [501, to501],
      [502, 'home'],
    ]);
    const logged = h.lines.filter((l) => l.msg === 'migration asked for');
    assert.deepEqual(
      logged.map((l) => l.reason),
      ['expelled', 'expelled'],
    );
    assert.throws(() => h.balancer.expel(999, 'n2'), /n1 has no program 999/);
  });

  it('brings every program that runs elsewhere home and reports each result', async () => {
    const h = harness();
    h.setView([node('n1', 0), node('n2', 0), node('n3', 0)]);
    h.add(601, { where: 'n2' });
    h.add(602, { where: 'n3' });
    h.add(603); // at home already
    await h.balancer.tick();
    const brought = await h.balancer.bringHome();
    assert.deepEqual(
      brought.sort((a, b) => a.pid - b.pid),
      [
        { pid: 601, from: 'n2', result: 'ok' },
        { pid: 602, from: 'n3', result: 'ok' },
      ],
    );
    assert.deepEqual(h.migrations.sort(), [
      [601, 'home'],
      [602, 'home'],
    ]);
  });

  it('reports a program that could not come home', async () => {
    const h = harness({ refuse: true });
    h.setView([node('n1', 0), node('n2', 0)]);
    h.add(701, { where: 'n2' });
    await h.balancer.tick();
    const [r] = await h.balancer.bringHome();
    assert.equal(r?.pid, 701);
    assert.match(r?.result ?? '', /home is full/);
  });

  it('flood control: freezes programs beyond the limit, continues them in turn', async () => {
    const h = harness({ maxLocalProcesses: 2, frozenTurnMs: 5000 });
    // Nowhere else to go: every other node is as loaded as home.
    h.setView([node('n1', 4), node('n2', 4)]);
    for (const pid of [801, 802, 803, 804]) h.add(pid, { since: new Date(pid).toISOString() });
    h.add(805, { where: 'n2' }); // away: not counted
    await h.second();
    assert.deepEqual(h.freezes.sort(), [803, 804]);
    assert.deepEqual(h.continues, []);
    const logged = h.lines.filter((l) => l.msg === 'flood control: frozen');
    assert.deepEqual(
      logged.map((l) => l.limit),
      [2, 2],
    );
    // A place frees (one ends): the longest waiting comes back.
    h.gone.add(801);
    h.programs.delete(801);
    await h.second();
    await h.second();
    assert.equal(h.continues.length, 1);
    // Turns: after 5 s the one still waiting trades places with one that ran 5 s.
    for (let i = 0; i < 6; i++) await h.second();
    assert.equal(h.continues.length, 2);
    assert.equal(h.freezes.length, 3);
    const runningHome = [...h.programs.values()].filter(
      (p) => p.where === 'n1' && p.state === 'running',
    );
    assert.equal(runningHome.length, 2);
  });

  it('flood control: does not call a program home past the limit', async () => {
    const h = harness({ maxLocalProcesses: 1 });
    // Home idle, the others busy: the policy would call both programs home.
    h.setView([node('n1', 0), node('n2', 3), node('n3', 3)]);
    h.add(901, { where: 'n2' });
    h.add(902, { where: 'n3' });
    await h.second();
    await h.second();
    assert.equal(h.migrations.filter(([, to]) => to === 'home').length, 1);
  });
});
