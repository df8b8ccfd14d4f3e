/**
 * Native programs as batch jobs (osmo run -E, docs/native.md) on loopback: two real daemons (n1
 * home, n2 with `native`), each figure against a baseline measured in the same run.
 *
 *   start    wall time of /bin/true: run plainly, with osmo run -E -h, with osmo run -E -r n2
 *   stream   1 GiB through stdin → stdout: cat plainly vs cat away on n2 (the bytes go to n2
 *            and back through home: twice over the link)
 *
 * As root, everything (daemons included) runs as the user nobody (setpriv): the nodes never run
 * root's native programs, and a daemon that is not root runs its own user's.
 *
 *   npm run build && node dist/bench/native-batch.js [--rounds N]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, interleaved, streamOneGiB } from './measure.js';
import type { Command } from './measure.js';
import { freeUdpPorts } from '../test/helpers/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const osmoBin = join(root, 'bin', 'osmo.js');
const argv = process.argv.slice(2);
const roundsAt = argv.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 5;

const asRoot = process.getuid?.() === 0;
const as: string[] = asRoot
  ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--']
  : [];
const dir = mkdtempSync(join(tmpdir(), 'osmo-bench-native-'));
if (asRoot) {
  chmodSync(dir, 0o755);
  execFileSync('chown', ['nobody:nogroup', dir]);
}
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: dir,
  XDG_RUNTIME_DIR: dir,
  XDG_STATE_HOME: dir,
  XDG_CACHE_HOME: join(dir, 'cache'),
  OSMOSIS_DAEMON: join(dir, 'n1.sock'),
};
const daemons: ChildProcess[] = [];
const node = process.execPath;
const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
const osmoShell = (args: string): string => [...as, node, osmoBin].map(q).join(' ') + ` ${args}`;

async function startCluster(): Promise<void> {
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'native-benchmark-secret-0123456789\n', { mode: 0o600 });
  if (asRoot) execFileSync('chown', ['nobody:nogroup', secret]);
  const ports = await freeUdpPorts(2);
  for (const [i, port] of ports.entries()) {
    const name = `n${i + 1}`;
    const args = [
      ...[node, osmoBin, 'daemon', '--name', name, '--listen', `127.0.0.1:${port}`],
      ...['--peers', ports.map((p) => `127.0.0.1:${p}`).join(',')],
      ...['--secret-file', secret, '--state-dir', join(dir, name)],
      ...['--control-socket', join(dir, `${name}.sock`), '--gossip-interval-ms', '200'],
      ...(name === 'n2' ? ['--native', 'true'] : []),
    ];
    const full = [...as, ...args];
    daemons.push(spawn(full[0]!, full.slice(1), { stdio: 'ignore', env }));
  }
  for (;;) {
    const s = spawnSync('bash', ['-c', osmoShell('status --json')], { env, encoding: 'utf8' });
    if (s.status === 0 && (JSON.parse(s.stdout) as { nodes: unknown[] }).nodes.length === 2) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const shell = (label: string, command: string): Command => ({
  label,
  argv: [],
  shell: `cd ${q(dir)} && ${command}`,
  env,
});

try {
  await startCluster();
  console.log(`# osmo run -E on loopback (${asRoot ? 'as nobody' : 'as this user'})\n`);

  const plain = [...as, '/bin/true'].map(q).join(' ');
  const [bare, home, away] = interleaved(
    [
      shell('/bin/true', plain),
      shell('osmo run -E -h /bin/true', osmoShell('run -E -h /bin/true')),
      shell('osmo run -E -r n2 /bin/true', osmoShell('run -E -r n2 /bin/true')),
    ],
    rounds,
  ) as [number, number, number];
  console.log('## Start: /bin/true, wall ms (median)\n');
  console.log('| plain | osmo run -E -h | osmo run -E -r n2 | -r n2 / -h |');
  console.log('|---|---|---|---|');
  console.log(`| ${fmt(bare, 1)} | ${fmt(home, 1)} | ${fmt(away, 1)} | ${fmt(away / home)} |\n`);

  const inDir = (command: string): string => `cd ${q(dir)} && ${command}`;
  const [cat, catAway] = streamOneGiB(
    [
      {
        label: 'cat',
        env,
        shell: (feed) => inDir(`${feed} | ${[...as, 'cat'].map(q).join(' ')} > /dev/null`),
      },
      {
        label: 'osmo run -E -r n2 cat',
        env,
        shell: (feed) => inDir(`${feed} | ${osmoShell('run -E -r n2 cat')} > /dev/null`),
      },
    ],
    rounds,
  ) as [number, number];
  console.log('## Stream: 1 GiB stdin → stdout, MB/s (median)\n');
  console.log('| cat | cat on n2 (through home) | away / plain |');
  console.log('|---|---|---|');
  console.log(`| ${fmt(cat, 0)} | ${fmt(catAway, 0)} | ${fmt(catAway / cat)} |`);
} finally {
  for (const d of daemons) d.kill('SIGTERM');
  await Promise.all(
    daemons.map((d) => new Promise((r) => (d.exitCode !== null ? r(0) : d.once('exit', r)))),
  );
  rmSync(dir, { recursive: true, force: true });
}
