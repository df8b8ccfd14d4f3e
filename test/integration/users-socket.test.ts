/**
 * A daemon run by root serves every local user through its users' socket (config usersSocket):
 * an ordinary user (`nobody` here) sees the cluster, starts a program on another node and lists
 * it with `osmo ps`, but cannot administer the node; root still can through the daemon's own
 * socket. Needs root (to act as another user); skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeScratch, osmo, removeScratch } from '../helpers/osmo.js';
import { Cluster, startNodes, untilSeesAlive } from './daemon-harness.js';
import { AS_NOBODY, asNobodyUnavailable, nobodyIn } from '../helpers/as-nobody.js';

const skip = asNobodyUnavailable();

describe("the users' socket: every local user reaches a root daemon", { skip }, () => {
  const cluster = new Cluster();
  let dir = '';
  let usersSocket = '';
  let nobodyEnv: NodeJS.ProcessEnv = {};

  before(async () => {
    dir = makeScratch();
    nobodyEnv = nobodyIn(dir); // nobody must reach the users' socket through dir
    usersSocket = join(dir, 'public', 'users.sock');
    await startNodes(cluster, {
      dir,
      secret: 'users-socket-test-secret-01234567',
      nodes: [{ extra: ['--users-socket', usersSocket] }, {}],
    });
    await untilSeesAlive(join(dir, 'n1.sock'), 2, 'n1 sees both nodes');
  });

  after(async () => {
    await cluster.stopAll();
    removeScratch(dir);
  });

  it('an ordinary user sees the cluster through it', async () => {
    const r = await osmo(['status', '--daemon', usersSocket], {
      env: nobodyEnv,
      prefix: AS_NOBODY,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /cluster lab, seen from n1: 2 active nodes/);
    // The daemon's own socket stays the daemon's user's.
    const own = await osmo(['status', '--daemon', join(dir, 'n1.sock')], {
      env: nobodyEnv,
      prefix: AS_NOBODY,
    });
    assert.equal(own.status, 69);
    assert.match(own.stderr, /EACCES/);
  });

  it('an ordinary user runs a program on another node and lists it', async () => {
    // Its first step, run at home: the program away must print the same first line.
    const local = await osmo(['run', '-h', '-L', fixture('steps'), '1', '2000000'], {
      env: nobodyEnv,
      prefix: AS_NOBODY,
    });
    assert.equal(local.status, 0, local.stderr);
    let listed = '';
    const away = await osmo(
      ['run', '--daemon', usersSocket, '-r', 'n2', fixture('steps'), '1000', '2000000'],
      {
        env: nobodyEnv,
        prefix: AS_NOBODY,
        stdinNull: true,
        onStdout: (_chunk, child) => {
          if (listed !== '') return;
          listed = 'asked';
          void osmo(['ps', '--json', '--daemon', usersSocket], {
            env: nobodyEnv,
            prefix: AS_NOBODY,
          })
            .then((ps) => {
              listed = ps.stdout.toString();
            })
            .finally(() => child.kill('SIGINT'));
        },
      },
    );
    assert.equal(away.status, 130, away.stderr);
    assert.match(listed, /"where": "n2"/, 'osmo ps of the user nobody lists it on n2');
    assert.ok(away.stdout.toString().startsWith(local.stdout.toString()), away.stdout.toString());
  });

  it('administration is refused there, and works on the daemon own socket', async () => {
    const refused = await osmo(['ctl', 'block', '--daemon', usersSocket], {
      env: nobodyEnv,
      prefix: AS_NOBODY,
    });
    assert.equal(refused.status, 2);
    assert.match(
      refused.stderr,
      /admin is for the node's administrator, and .* is the users' socket/,
    );
    const asRoot = await osmo(['ctl', 'status', '--daemon', join(dir, 'n1.sock')]);
    assert.equal(asRoot.status, 0, asRoot.stderr);
    assert.match(asRoot.stdout.toString(), /^n1: accepting guests/);
  });
});

describe("an ordinary user's osmo run", { skip }, () => {
  it('runs with a directory it may not read in its view: EACCES inside, as on the host', async () => {
    const dir = makeScratch();
    try {
      const env = nobodyIn(dir);
      const closed = join(dir, 'closed');
      mkdirSync(closed, { mode: 0o700 }); // root's: nobody may neither list nor enter it
      // The default view preopens every top-level directory (/lost+found is such a one): one
      // the user could not open ended the run with "cannot preopen …: EACCES".
      const r = await osmo(
        ['run', '--dir', `${closed}:/closed`, fixture('readfile'), '/closed/x'],
        { env, prefix: AS_NOBODY },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /readfile: \/closed\/x: Permission denied/);
    } finally {
      removeScratch(dir);
    }
  });
});
