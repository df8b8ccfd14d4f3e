/**
 * Real daemons on 127.0.0.1: a 5-node cluster converges within the formulas' bound, a killed
 * node is forgotten within maxAgeMs, a node with the wrong secret never joins (and its peers'
 * logs say why), bad configuration and a port in use are reported, SIGTERM stops cleanly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import {
  expectedMaxAge,
  thresholdForWindow,
  expectedWindowSize,
} from '../../src/gossip/formulas.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeScratch, osmo, osmoBin, removeScratch } from '../helpers/osmo.js';
import { processRuns } from '../helpers/process-runs.js';
import {
  Cluster,
  clusterForSuite,
  daemonArgs,
  freeUdpPorts,
  status,
  until,
  writeSecret,
  untilSeesAlive,
} from './daemon-harness.js';
import type { DaemonProcess } from './daemon-harness.js';

const N = 5;
const WINDOW = 3; // < N, so the fixed-window formulas apply
const INTERVAL_MS = 100;
const MAX_AGE_MS = 3000;

describe('osmo daemon: a 5-node loopback cluster', () => {
  let dir = '';
  const cluster = new Cluster();
  let ports: number[] = [];
  let nodes: DaemonProcess[] = [];
  let secret = '';

  before(async () => {
    dir = makeScratch();
    secret = writeSecret(dir, 'secret', 'lab-secret-0123456789abcdef');
    ports = await freeUdpPorts(N + 1);
    // Everyone knows only n1, as a new node knows any one member.
    nodes = Array.from({ length: N }, (_, i) =>
      cluster.start({
        name: `n${i + 1}`,
        port: ports[i]!,
        peers: i === 0 ? [] : [ports[0]!],
        secretFile: secret,
        dir,
        intervalMs: INTERVAL_MS,
        maxAgeMs: MAX_AGE_MS,
        extra: ['--window-size', String(WINDOW)],
      }),
    );
    await Promise.all(
      nodes.map((d) => d.waitForLog((l) => l.msg === 'daemon started', 20_000, 'daemon started')),
    );
  });

  after(async () => {
    await cluster.stopAll();
    removeScratch(dir);
  });

  test('every node sees all 5 within the bound from the gossip formulas', async () => {
    // Expected maximal age (in intervals) for n=5, w=3; joining through one seed adds about one
    // more round per hop. Bound: 10× that, plus 3 s for process scheduling on a busy CI host.
    const maxAgeIntervals = expectedMaxAge(N, expectedWindowSize(N, thresholdForWindow(N, WINDOW)));
    const boundMs = 10 * maxAgeIntervals * INTERVAL_MS + 3000;
    const started = Date.now();
    for (const d of nodes) {
      const s = await untilSeesAlive(
        d.socket,
        N,
        `${d.name} knows all ${N} nodes`,
        boundMs - (Date.now() - started),
      );
      assert.deepEqual(s.nodes.map((n) => n.name).sort(), ['n1', 'n2', 'n3', 'n4', 'n5']);
      const self = s.nodes.find((n) => n.self)!;
      assert.equal(self.name, d.name);
      assert.equal(self.address, `127.0.0.1:${d.port}`);
      for (const n of s.nodes) {
        assert.equal(n.speed, 10_000);
        assert.ok(n.cpus >= 1 && n.totalMemBytes > 0 && n.freeMemBytes > 0, JSON.stringify(n));
        assert.ok(n.ageMs <= MAX_AGE_MS, `${n.name} age ${n.ageMs}`);
        assert.deepEqual(n.status, ['accepting']);
      }
    }
  });

  test('a node with the wrong secret is never seen, and its peers log why', async () => {
    const intruder = cluster.start({
      name: 'evil',
      port: ports[N]!,
      peers: [ports[0]!, ports[1]!],
      secretFile: writeSecret(dir, 'wrong', 'not-the-lab-secret-at-all-000'),
      dir,
      intervalMs: INTERVAL_MS,
      maxAgeMs: MAX_AGE_MS,
    });
    await intruder.waitForLog((l) => l.msg === 'daemon started', 20_000, 'daemon started');
    // First drop is logged at once, later ones summed per dropLogIntervalMs (300 ms here): a
    // line's count is what came in its window (1 or 2 when the intruder picks n1 seldom), its
    // total what came in all.
    const line = await nodes[0]!.waitForLog(
      (l) =>
        typeof l.msg === 'string' &&
        /^dropped \d+ datagrams? from 127\.0\.0\.1:\d+: bad MAC \(wrong cluster secret\?\)$/.test(
          l.msg,
        ) &&
        (l.total as number) >= 3,
      10_000,
      'dropped N datagrams: bad MAC (wrong cluster secret?), 3 or more in all',
    );
    assert.ok((line.count as number) >= 1 && (line.count as number) <= (line.total as number));
    assert.equal(line.peer, `127.0.0.1:${ports[N]}`);
    assert.equal(line.reason, 'unknown-key');
    assert.equal(line.node, 'n1');
    for (const d of nodes) {
      const s = await status(d.socket);
      assert.ok(s, `${d.name} answers`);
      assert.ok(!s.nodes.some((n) => n.name === 'evil'), `${d.name} must not know evil`);
    }
    const seen = await status(intruder.socket);
    assert.deepEqual(
      seen?.nodes.map((n) => n.name),
      ['evil'],
      'the intruder learns nobody',
    );
  });

  test('forged and garbage datagrams are dropped and counted, the daemon lives on', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const send = (b: Buffer): Promise<void> =>
      new Promise((r) => s.send(b, ports[2], '127.0.0.1', () => r()));
    await send(Buffer.from('hello'));
    await send(Buffer.alloc(20_000, 1)); // over maxDatagramBytes (16 384 by default)
    await new Promise<void>((r) => s.close(() => r()));
    await nodes[2]!.waitForLog((l) => l.reason === 'truncated', 5000, 'truncated drop logged');
    await nodes[2]!.waitForLog((l) => l.reason === 'oversized', 5000, 'oversized drop logged');
    const st = await status(nodes[2]!.socket);
    assert.equal(st?.nodes.filter((n) => n.alive).length, N);
  });

  test('a killed node is forgotten by all within maxAgeMs', async () => {
    const victim = nodes[4]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    const survivors = nodes.slice(0, 4);
    for (const d of survivors) {
      await until(
        async () => {
          const st = await status(d.socket);
          return st && !st.nodes.some((n) => n.name === 'n5' && n.alive) ? st : undefined;
        },
        MAX_AGE_MS + 3000 - (Date.now() - killedAt),
        `${d.name} forgets n5`,
      );
      await d.waitForLog(
        (l) => l.msg === 'node expired' && l.peer === 'n5',
        2000,
        'node expired n5',
      );
    }
    // Forgotten, not hidden: `osmo status --dead` still lists it as dead.
    const r = await osmo(['status', '--dead', '--daemon', survivors[0]!.socket]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /^n5 .* dead$/m);
    const plain = await osmo(['status', '--daemon', survivors[0]!.socket]);
    assert.doesNotMatch(plain.stdout.toString(), /^n5 /m);
    assert.match(plain.stdout.toString(), /4 active nodes/);
  });

  test('SIGUSR1 leaves a daemon as it was; SIGTERM stops it gracefully with status 0', async () => {
    const d = nodes[3]!;
    d.child.kill('SIGUSR1');
    const alive = await osmo(['status', '--daemon', d.socket]);
    assert.equal(alive.status, 0, `still serving after SIGUSR1: ${alive.stderr}`);
    assert.ok(!d.raw.some((l) => l.includes('Debugger listening')), 'no debugger port opened');
    d.child.kill('SIGTERM');
    const { code } = await d.exited;
    assert.equal(code, 0);
    assert.ok(
      d.lines.some((l) => l.msg === 'daemon stopped'),
      d.raw.slice(-5).join('\n'),
    );
    const r = await osmo(['status', '--daemon', d.socket]);
    assert.equal(r.status, 69, 'no daemon: EX_UNAVAILABLE');
    assert.match(r.stderr, /no daemon at .*n4\.sock/);
  });

  test("a node's network address given for its control socket is named as such (exit 2)", async () => {
    for (const address of ['127.0.0.1:7101', '[::1]:7101', 'n1.lab:7101']) {
      const r = await osmo(['status', '--daemon', address]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^osmo: \S+ is a network address; .* control socket .*--daemon PATH/);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
  });
});

describe('osmo daemon: threshold windows (--window-max-age-ms)', () => {
  const { cluster, dir: scratchDir } = clusterForSuite();

  test('nodes that send every entry younger than T find each other and stay in view', async () => {
    const dir = scratchDir();
    const secret = writeSecret(dir, 'secret', 'threshold-secret-0123456789');
    const ports = await freeUdpPorts(3);
    const nodes = ports.map((port, i) =>
      cluster.start({
        name: `t${i + 1}`,
        port,
        peers: i === 0 ? [] : [ports[0]!],
        secretFile: secret,
        dir,
        intervalMs: INTERVAL_MS,
        maxAgeMs: MAX_AGE_MS,
        extra: ['--window-max-age-ms', '300', '--window-size', '64'],
      }),
    );
    const started = await Promise.all(
      nodes.map((d) => d.waitForLog((l) => l.msg === 'daemon started', 20_000, 'daemon started')),
    );
    for (const line of started) assert.equal(line.windowMaxAgeMs, 300);
    for (const d of nodes) {
      await untilSeesAlive(d.socket, 3, `${d.name} knows all 3 nodes`, 15_000);
    }
    // Its terminal closing (SIGHUP) stops a daemon in order too, not by the default action.
    const last = nodes[2]!;
    last.child.kill('SIGHUP');
    assert.equal((await last.exited).code, 0);
    assert.ok(last.lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGHUP'));
    assert.ok(last.lines.some((l) => l.msg === 'daemon stopped'));
  });
});

describe('osmo daemon: --stop-with-parent', () => {
  const { dir: scratchDir } = clusterForSuite();

  test('a daemon whose starter is killed outright (SIGKILL) stops as on SIGTERM', async () => {
    const dir = scratchDir();
    const [port] = await freeUdpPorts(1);
    const args = daemonArgs({
      name: 'orphan',
      port: port!,
      peers: [],
      secretFile: writeSecret(dir, 'secret', 'orphan-secret-0123456789abcdef'),
      dir,
    });
    assert.ok(args.includes('--stop-with-parent'), 'the harness starts every daemon with it');
    const log = join(dir, 'orphan.log');
    // A starter like a script or osmo demo: starts the daemon, says its pid, then waits.
    const starter = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs');
         const out = fs.openSync(${JSON.stringify(log)}, 'a');
         const c = require('child_process').spawn(process.execPath, ${JSON.stringify([osmoBin, ...args])}, { stdio: ['ignore', 'ignore', out] });
         c.on('spawn', () => console.log(c.pid));
         setInterval(() => {}, 1e6);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(starter.stdout, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    const socket = join(dir, 'orphan.sock');
    try {
      await until(() => status(socket), 20_000, 'the daemon serves its control socket');
      starter.kill('SIGKILL');
      await once(starter, 'exit');
      await until(
        () => Promise.resolve(processRuns(pid) ? undefined : true),
        10_000,
        'the daemon ends once its starter is gone',
      );
      const lines = readFileSync(log, 'utf8');
      assert.match(lines, /"msg":"shutting down","reason":"parent ended"/);
      assert.match(lines, /"msg":"daemon stopped"/);
      assert.equal(existsSync(socket), false, 'stopped in order: its control socket removed');
    } finally {
      starter.kill('SIGKILL');
      if (processRuns(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('osmo daemon: bad input', () => {
  let dir = '';
  before(() => {
    dir = makeScratch();
  });
  after(() => removeScratch(dir));

  test('an invalid configuration lists every problem and exits 2', async () => {
    const r = await osmo(
      [
        'daemon',
        '--listen',
        'nowhere',
        '--gossip-interval-ms',
        'fast',
        '--window-size',
        '999',
        '--peers',
        '1.2.3.4:99999',
      ],
      { env: { ...process.env, OSMOSIS_OWN_CLUSTER_PROBABILITY: '2' }, deadlineMs: 10_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    for (const re of [
      /listen \(from --listen\): "nowhere" is not host:port/,
      /gossipIntervalMs \(from --gossip-interval-ms\): expected an integer, got "fast"/,
      /windowSize \(from --window-size\): 999 is outside 1\.\.256/,
      /peers \(from --peers\): "1\.2\.3\.4:99999": port 99999 is outside/,
      /ownClusterProbability \(from OSMOSIS_OWN_CLUSTER_PROBABILITY\): 2 is outside 0\.\.1/,
      /secretFile is required/,
    ]) {
      assert.match(r.stderr, re);
    }
  });

  test('a port in use is named in one line, exit 2', async () => {
    const [port] = await freeUdpPorts(1);
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((res) => blocker.bind(port, '127.0.0.1', () => res()));
    try {
      const secret = writeSecret(dir, 'secret', 'lab-secret-0123456789abcdef');
      const r = await osmo(
        [
          'daemon',
          '--name',
          'x',
          '--listen',
          `127.0.0.1:${port}`,
          '--secret-file',
          secret,
          '--state-dir',
          `${dir}/s`,
          '--control-socket',
          `${dir}/x.sock`,
          '--speed',
          '1',
        ],
        { deadlineMs: 10_000 },
      );
      assert.equal(r.status, 2, r.stderr);
      const plain = r.stderr.split('\n').filter((l) => l.startsWith('osmo:'));
      assert.equal(plain.length, 1, r.stderr);
      assert.equal(
        plain[0],
        `osmo: cannot listen on UDP 127.0.0.1:${port} (gossip): address already in use — is another daemon running there? choose another port`,
      );
    } finally {
      blocker.close();
    }
  });
});
