/**
 * The options of `osmo runner` as its daemon passes them (runner-pool.ts), read without the CLI
 * (runner-main.ts): anything else is a usage error, never a runner with a wrong address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOsmoError } from '../../../src/core/errors.js';
import { runnerOptions } from '../../../src/cli/runner-main.js';

describe('runnerOptions', () => {
  it("reads the daemon's arguments", () => {
    assert.deepEqual(runnerOptions(['--host', '10.0.0.2', '--daemon-pid', '42', '--node', 'n2']), {
      host: '10.0.0.2',
      node: 'n2',
      daemonPid: 42,
    });
    assert.deepEqual(runnerOptions(['--host', '127.0.0.1']), {
      host: '127.0.0.1',
      daemonPid: process.ppid,
    });
  });

  it('refuses anything else with a usage error', () => {
    for (const argv of [
      [],
      ['--host'],
      ['--host', 'h', '--bogus'],
      ['--host', 'h', 'extra'],
      ['--host', 'h', '--daemon-pid', 'x'],
      ['--host', 'h', '--daemon-pid', '0'],
    ]) {
      assert.throws(
        () => runnerOptions(argv),
        (e) => isOsmoError(e) && e.code === 'E_USAGE' && /^osmo runner: /.test(e.message),
        argv.join(' '),
      );
    }
  });
});
