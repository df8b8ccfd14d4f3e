import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_SOCKETS, resolveDaemonSocket } from '../../../src/daemon/socket-path.js';

const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
const own = '/run/user/1000/osmosis/daemon.sock';
const [rootSocket, usersSocket] = SYSTEM_SOCKETS as [string, string];

void test('resolveDaemonSocket: flag, then OSMOSIS_DAEMON, then the first socket one may use', () => {
  const only =
    (...paths: string[]) =>
    (p: string) =>
      paths.includes(p);
  assert.equal(
    resolveDaemonSocket('/x.sock', { ...env, OSMOSIS_DAEMON: '/y.sock' }, only()),
    '/x.sock',
  );
  assert.equal(
    resolveDaemonSocket(undefined, { ...env, OSMOSIS_DAEMON: '/y.sock' }, only()),
    '/y.sock',
  );
  // The user's own daemon first; a host daemon's sockets after it, root's before the users'.
  assert.equal(resolveDaemonSocket(undefined, env, only(own, rootSocket, usersSocket)), own);
  assert.equal(resolveDaemonSocket(undefined, env, only(rootSocket, usersSocket)), rootSocket);
  assert.equal(resolveDaemonSocket(undefined, env, only(usersSocket)), usersSocket);
  // None usable: the user's own, so that the error names where a daemon was expected.
  assert.equal(resolveDaemonSocket(undefined, env, only()), own);
  // "none": no daemon at all, whatever the host runs.
  const all = only(own, rootSocket, usersSocket);
  assert.equal(resolveDaemonSocket(undefined, { ...env, OSMOSIS_DAEMON: 'none' }, all), undefined);
  assert.equal(resolveDaemonSocket('none', env, all), undefined);
});
