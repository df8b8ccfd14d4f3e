/**
 * `osmo mon` on a real terminal: driven in tmux (80×24), it shows the nodes, switches views by
 * key, shows dead nodes on `d`, help on `h`, and quits on `q` with status 0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeScratch, osmoBin, removeScratch } from '../helpers/osmo.js';
import { Cluster, freeUdpPorts, writeSecret } from './daemon-harness.js';
import { TmuxServer, hasTmux } from '../helpers/tmux.js';
import type { DaemonProcess } from './daemon-harness.js';

const tmuxServer = new TmuxServer(`osmo-test-${process.pid}`);
const tmux = (...args: string[]): string => tmuxServer.run(...args);
const waitForScreen = (re: RegExp, deadlineMs: number, what: string): Promise<string> =>
  tmuxServer.waitForScreen('mon', re, deadlineMs, what);

describe('osmo mon in tmux', { skip: hasTmux ? false : 'tmux not installed' }, () => {
  let dir = '';
  const cluster = new Cluster();
  let nodes: DaemonProcess[] = [];

  before(async () => {
    dir = makeScratch();
    const secret = writeSecret(dir, 'secret', 'mon-secret-0123456789abcdef');
    const ports = await freeUdpPorts(3);
    nodes = ['alpha', 'beta', 'gamma'].map((name, i) =>
      cluster.start({
        name,
        port: ports[i]!,
        peers: i === 0 ? [] : [ports[0]!],
        secretFile: secret,
        dir,
        maxAgeMs: 2000,
      }),
    );
    await Promise.all(
      nodes.map((d) => d.waitForLog((l) => l.msg === 'daemon started', 20_000, 'started')),
    );
  });

  after(async () => {
    tmuxServer.kill();
    await cluster.stopAll();
    removeScratch(dir);
  });

  test('shows the nodes, reacts to view keys, d, h and q', async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(osmoBin)} mon --daemon ${JSON.stringify(nodes[0]!.socket)} --refresh-ms 100; echo MON-EXIT=$?; sleep 600`;
    tmux('new-session', '-d', '-x', '80', '-y', '24', '-s', 'mon', cmd);

    let s = await waitForScreen(/3 active nodes/, 15_000, 'three active nodes');
    assert.match(s, /view: load/);
    for (const name of ['alpha', 'beta', 'gamma'])
      assert.match(s, new RegExp(`^${name}\\*? +[█░]+ +\\d+\\.\\d\\d +\\d+ +\\d+ `, 'm'));
    assert.match(s, /alpha\*/, 'own node marked');
    for (const line of s.split('\n')) assert.ok(line.length <= 80, `fits 80 columns: ${line}`);

    tmux('send-keys', '-t', 'mon', 'm');
    s = await waitForScreen(/view: memory/, 5000, 'memory view');
    assert.match(s, /^alpha\* .*\d(\.\d)?[KMGT]\/\d/m);
    tmux('send-keys', '-t', 'mon', 'u');
    s = await waitForScreen(/view: utilisation/, 5000, 'utilisation view');
    assert.match(s, /^beta .* \d+% /m);
    tmux('send-keys', '-t', 'mon', 's');
    await waitForScreen(/view: speed/, 5000, 'speed view');

    // A dead node: hidden by default, shown on `d`.
    nodes[2]!.child.kill('SIGKILL');
    s = await waitForScreen(/2 active nodes, 1 dead/, 10_000, 'gamma dead');
    assert.doesNotMatch(s, /^gamma/m);
    tmux('send-keys', '-t', 'mon', 'd');
    s = await waitForScreen(/^gamma .*dead/m, 5000, 'dead gamma shown');
    assert.match(s, /\[d\]ead:on/);

    tmux('send-keys', '-t', 'mon', 'h');
    await waitForScreen(/this help \(any key returns\)/, 5000, 'help');
    tmux('send-keys', '-t', 'mon', 'x');
    await waitForScreen(/view: speed/, 5000, 'back from help');

    tmux('send-keys', '-t', 'mon', 'q');
    await waitForScreen(/MON-EXIT=0/, 5000, 'mon quit with status 0');
  });
});
