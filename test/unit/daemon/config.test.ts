import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOsmoError } from '../../../src/core/errors.js';
import { CONFIG_FIELDS, idFromName, loadDaemonConfig } from '../../../src/daemon/config.js';
import { repoRoot } from '../../helpers/osmo.js';

function scratch(): { dir: string; secret: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'osmo-config-'));
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'a'.repeat(32), { mode: 0o600 });
  return { dir, secret, done: () => rmSync(dir, { recursive: true, force: true }) };
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(isOsmoError(e, 'E_CONFIG'), String(e));
    return (e.details?.problems as string[]) ?? [];
  }
  assert.fail('expected E_CONFIG');
}

void test('defaults apply and every field has a documented default', () => {
  const s = scratch();
  try {
    const { config, origin } = loadDaemonConfig({
      env: {},
      flags: { secretFile: s.secret, name: 'n1' },
    });
    assert.equal(config.gossipIntervalMs, 1000);
    assert.equal(config.windowSize, 16);
    assert.equal(config.windowMaxAgeMs, undefined, 'the fixed window unless asked');
    assert.deepEqual(config.listen, { host: '0.0.0.0', port: 5301 });
    assert.equal(config.id, idFromName('n1'));
    assert.equal(origin.gossipIntervalMs, 'default');
    assert.equal(origin.name, 'flag');
    for (const f of CONFIG_FIELDS) assert.ok(f.defaultText.length > 0 && f.help.length > 0, f.key);
    // Durations and sizes say their unit in their name.
    for (const f of CONFIG_FIELDS) {
      if (/interval|age|transit/i.test(f.key)) assert.match(f.key, /Ms$/, f.key);
    }
  } finally {
    s.done();
  }
});

void test('precedence: defaults < file < environment < flags', () => {
  const s = scratch();
  try {
    const file = join(s.dir, 'osmosis.yaml');
    writeFileSync(
      file,
      `name: from-file\ncluster: file-cluster\ngossipIntervalMs: 300\nwindowSize: 8\nsecretFile: ${s.secret}\npeers: [10.0.0.1:5301, 10.0.0.2:5301]\n`,
    );
    const { config, origin } = loadDaemonConfig({
      file,
      env: { OSMOSIS_GOSSIP_INTERVAL_MS: '200', OSMOSIS_WINDOW_SIZE: '4' },
      flags: { windowSize: '2' },
    });
    assert.equal(config.name, 'from-file');
    assert.equal(config.cluster, 'file-cluster');
    assert.equal(config.gossipIntervalMs, 200);
    assert.equal(config.windowSize, 2);
    assert.equal(config.peers.length, 2);
    assert.deepEqual(
      [origin.cluster, origin.gossipIntervalMs, origin.windowSize, origin.maxAgeMs],
      ['file', 'env', 'flag', 'default'],
    );
  } finally {
    s.done();
  }
});

void test('every problem is listed at once, each naming the field and where it came from', () => {
  const s = scratch();
  try {
    const file = join(s.dir, 'bad.yaml');
    writeFileSync(file, 'gosipIntervalMs: 5\nwindowSize: 0\nlogLevel: loud\ndiscovery: maybe\n');
    const problems = problemsOf(() =>
      loadDaemonConfig({
        file,
        env: { OSMOSIS_MAX_AGE_MS: 'soon' },
        flags: {
          name: 'bad name!',
          listen: '127.0.0.1',
          peers: '127.0.0.1:7102,nonsense',
          ownClusterProbability: '1.5',
          gossipIntervalMs: '2.5',
          mapFile: join(s.dir, 'missing.map'),
          windowMaxAgeMs: '-5',
        },
      }),
    );
    const expect = [
      /unknown field "gosipIntervalMs"/,
      /windowSize \(in .*bad\.yaml\): 0 is outside 1\.\.256/,
      /logLevel .*"loud"/,
      /discovery .*"maybe"/,
      /maxAgeMs \(from OSMOSIS_MAX_AGE_MS\): expected an integer/,
      /name "bad name!"/,
      /listen \(from --listen\): "127\.0\.0\.1" is not host:port/,
      /peers \(from --peers\): "nonsense" is not host:port/,
      /ownClusterProbability .*1\.5 is outside 0\.\.1/,
      /gossipIntervalMs \(from --gossip-interval-ms\): expected an integer/,
      /secretFile is required/,
      /mapFile .*missing\.map: cannot read it \(ENOENT\)/,
      /windowMaxAgeMs \(from --window-max-age-ms\): -5 is outside 0\.\.3600000/,
    ];
    for (const re of expect)
      assert.ok(
        problems.some((p) => re.test(p)),
        `${re} in:\n${problems.join('\n')}`,
      );
    assert.equal(problems.length, expect.length, problems.join('\n'));
  } finally {
    s.done();
  }
});

void test('windowMaxAgeMs chooses the threshold window, from a flag, the environment or a file', () => {
  const s = scratch();
  try {
    const load = (
      env: Record<string, string>,
      flags: Record<string, string> = {},
    ): number | undefined =>
      loadDaemonConfig({ env, flags: { secretFile: s.secret, name: 'n1', ...flags } }).config
        .windowMaxAgeMs;
    assert.equal(load({}, { windowMaxAgeMs: '2800' }), 2800);
    assert.equal(load({ OSMOSIS_WINDOW_MAX_AGE_MS: '1500' }), 1500);
  } finally {
    s.done();
  }
});

void test('secret file problems: missing and too short', () => {
  const s = scratch();
  try {
    const short = join(s.dir, 'short');
    writeFileSync(short, 'tiny\n');
    assert.match(
      problemsOf(() => loadDaemonConfig({ env: {}, flags: { secretFile: short } }))[0]!,
      /4 bytes; use at least 16/,
    );
    assert.match(
      problemsOf(() =>
        loadDaemonConfig({ env: {}, flags: { secretFile: join(s.dir, 'nope') } }),
      )[0]!,
      /cannot read it \(ENOENT\)/,
    );
  } finally {
    s.done();
  }
});

void test('a secret file every user may read is refused; one a group may read is not', () => {
  const s = scratch();
  try {
    chmodSync(s.secret, 0o644);
    assert.match(
      problemsOf(() => loadDaemonConfig({ env: {}, flags: { secretFile: s.secret } })).join('\n'),
      /every user of this host may read it \(mode 0644\).*chmod 600/,
    );
    chmodSync(s.secret, 0o640);
    assert.equal(
      loadDaemonConfig({ env: {}, flags: { secretFile: s.secret, name: 'n1' } }).secret.length,
      32,
    );
  } finally {
    s.done();
  }
});

void test('maxAgeMs must exceed a few gossip intervals', () => {
  const s = scratch();
  try {
    const p = problemsOf(() =>
      loadDaemonConfig({
        env: {},
        flags: { secretFile: s.secret, gossipIntervalMs: '1000', maxAgeMs: '2000' },
      }),
    );
    assert.match(p[0]!, /maxAgeMs 2000 must be at least 3 × gossipIntervalMs/);
  } finally {
    s.done();
  }
});

void test('a static map gives peers and this node its number; bad lines are named', () => {
  const s = scratch();
  try {
    const map = join(s.dir, 'osmosis.map');
    writeFileSync(map, '# lab\nn1 127.0.0.1:7101\nn2 127.0.0.1:7102\n127.0.0.1:7103  # unnamed\n');
    const { config } = loadDaemonConfig({
      env: {},
      flags: { secretFile: s.secret, name: 'n2', mapFile: map, listen: '127.0.0.1:7102' },
    });
    assert.equal(config.id, 2);
    assert.deepEqual(
      config.peers.map((p) => p.port),
      [7101, 7103],
    );
    writeFileSync(map, 'n1 127.0.0.1:7101\nn2 host-without-port\nthree words here\n');
    const p = problemsOf(() =>
      loadDaemonConfig({ env: {}, flags: { secretFile: s.secret, mapFile: map } }),
    );
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p[0]!, /osmosis\.map:2: "host-without-port" is not host:port/);
    assert.match(p[1]!, /osmosis\.map:3: expected "\[name\] host:port"/);
  } finally {
    s.done();
  }
});

void test('examples/osmosis.yaml names every field and loads as it is', () => {
  const s = scratch();
  try {
    const example = readFileSync(join(repoRoot, 'examples', 'osmosis.yaml'), 'utf8');
    // Every field, set or commented out with its default, so an administrator sees them all.
    for (const f of CONFIG_FIELDS) assert.match(example, new RegExp(`^(# )?${f.key}:`, 'm'), f.key);
    // The example points at /etc; the same text with this test's secret must load cleanly.
    const file = join(s.dir, 'osmosis.yaml');
    writeFileSync(
      file,
      example
        .replace(/^secretFile: .*$/m, `secretFile: ${s.secret}`)
        .replace(/^stateDir: .*$/m, `stateDir: ${s.dir}`),
    );
    const { config } = loadDaemonConfig({ file, env: {}, flags: {} });
    assert.equal(config.cluster, 'lab');
    assert.equal(config.maxGuests, 0);
  } finally {
    s.done();
  }
});
