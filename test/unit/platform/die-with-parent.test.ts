import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dyingWithParent } from '../../../src/platform/die-with-parent.js';
import { processRuns } from '../../helpers/process-runs.js';

const hasSetpriv = process.platform === 'linux' && existsSync('/usr/bin/setpriv');

describe('a native program dies with the process that started it', () => {
  it('is started through setpriv with the same file and argv', { skip: !hasSetpriv }, () => {
    assert.deepEqual(dyingWithParent('./batch', ['wait', 'f']), {
      file: '/usr/bin/setpriv',
      args: ['--pdeathsig', 'KILL', '--', './batch', 'wait', 'f'],
    });
  });

  it('ends when its parent is killed with SIGKILL', { skip: !hasSetpriv }, async () => {
    // A parent that starts `sleep` the way osmo run and runners do, and reports its pid.
    const launch = dyingWithParent('sleep', ['600']);
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('child_process').spawn(${JSON.stringify(launch.file)}, ${JSON.stringify(launch.args)}, { stdio: 'ignore' });
         c.on('spawn', () => console.log(c.pid));
         setInterval(() => {}, 1e6);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    try {
      assert.ok(processRuns(pid));
      parent.kill('SIGKILL');
      await once(parent, 'exit');
      // The kernel sends the signal as the parent exits; it takes effect when sleep next runs.
      for (let i = 0; i < 200 && processRuns(pid); i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(processRuns(pid), false, 'sleep outlived its parent');
    } finally {
      if (processRuns(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
