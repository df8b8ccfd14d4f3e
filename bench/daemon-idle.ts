/**
 * Idle cost of the node daemon: a 5-node cluster on 127.0.0.1 at the default gossip interval
 * (1000 ms, window 16). Measures each daemon's CPU (% of one core, from /proc/<pid>/stat), RSS,
 * and gossip traffic per node (from the daemon's own counters, via the control API).
 *
 *   npm run build && node dist/bench/daemon-idle.js [seconds=20]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestOnce } from '../src/daemon/control-client.js';
import type { StatsResult } from '../src/daemon/control-protocol.js';
import { readProcStat } from '../src/platform/system-info.js';
import { freeUdpPorts } from '../test/helpers/ports.js';

const N = 5;
const seconds = Number(process.argv[2] ?? 20);
const osmoBin = fileURLToPath(new URL('../../bin/osmo.js', import.meta.url));
const clockTicks = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;

function waitStarted(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`daemon did not start:\n${buf}`)), 30_000);
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      if (buf.includes('"daemon started"')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'osmo-bench-'));
const secret = join(dir, 'secret');
writeFileSync(secret, 'bench-secret-0123456789abcdef\n', { mode: 0o600 });
const ports = await freeUdpPorts(N);
const children: ChildProcess[] = [];
try {
  for (let i = 0; i < N; i++) {
    const child = spawn(
      process.execPath,
      [
        osmoBin,
        'daemon',
        '--name',
        `b${i + 1}`,
        '--listen',
        `127.0.0.1:${ports[i]}`,
        '--peers',
        `127.0.0.1:${ports[0]}`,
        '--cluster',
        'bench',
        '--secret-file',
        secret,
        '--state-dir',
        join(dir, `s${i}`),
        '--control-socket',
        join(dir, `b${i + 1}.sock`),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(child);
  }
  await Promise.all(children.map(waitStarted));
  // Warm-up: let the cluster converge and the JIT settle before measuring.
  await new Promise((r) => setTimeout(r, 5000));
  const socks = children.map((_, i) => join(dir, `b${i + 1}.sock`));
  const before = children.map((c) => readProcStat(c.pid!)!);
  const statsBefore = await Promise.all(socks.map((s) => requestOnce(s, 'stats')));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsedS = (performance.now() - t0) / 1000;
  const after = children.map((c) => readProcStat(c.pid!)!);
  const statsAfter: StatsResult[] = await Promise.all(socks.map((s) => requestOnce(s, 'stats')));
  const known = await Promise.all(
    socks.map(async (s) => (await requestOnce(s, 'status')).nodes.filter((n) => n.alive).length),
  );

  console.log(
    `\n5-node loopback cluster, default gossip interval (1000 ms), window 16, ${elapsedS.toFixed(1)} s measured after 5 s warm-up\n`,
  );
  console.log(
    '| node | CPU % of a core | RSS MB | sent B/s | received B/s | datagrams sent/s | nodes known |',
  );
  console.log('|---|---|---|---|---|---|---|');
  let cpuSum = 0;
  let rssMax = 0;
  let sentSum = 0;
  for (let i = 0; i < N; i++) {
    const cpu = ((after[i]!.cpuTicks - before[i]!.cpuTicks) / clockTicks / elapsedS) * 100;
    const rss = after[i]!.rssBytes / 2 ** 20;
    const sent =
      (statsAfter[i]!.transport.bytesSent - statsBefore[i]!.transport.bytesSent) / elapsedS;
    const recv =
      (statsAfter[i]!.transport.bytesReceived - statsBefore[i]!.transport.bytesReceived) / elapsedS;
    const dgs =
      (statsAfter[i]!.transport.datagramsSent - statsBefore[i]!.transport.datagramsSent) / elapsedS;
    cpuSum += cpu;
    rssMax = Math.max(rssMax, rss);
    sentSum += sent;
    console.log(
      `| b${i + 1} | ${cpu.toFixed(2)} | ${rss.toFixed(1)} | ${sent.toFixed(0)} | ${recv.toFixed(0)} | ${dgs.toFixed(2)} | ${known[i]} |`,
    );
  }
  console.log(
    `| **mean / max** | **${(cpuSum / N).toFixed(2)}** (goal ≤ 1) | **${rssMax.toFixed(1)}** max (goal ≤ 80) | **${(sentSum / N).toFixed(0)}** | | | |`,
  );
  console.log(
    `\n(CPU from /proc/<pid>/stat utime+stime, CLK_TCK ${clockTicks}; bytes include the 52-byte auth header and exclude IP/UDP headers.)`,
  );
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))),
  );
  rmSync(dir, { recursive: true, force: true });
}
