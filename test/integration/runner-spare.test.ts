/**
 * A spare guest runner ends once the daemon that started it is gone: it has nothing to do, and
 * nobody would ever give it a guest. A spare forked just as its daemon was killed is re-parented
 * before it can read its parent's pid, so the daemon names itself (`--daemon-pid`); before that,
 * such a spare waited for ever (one was left behind by most runs of the migration tests).
 */
import assert from 'node:assert/strict';
import { fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { osmo, osmoBin } from '../helpers/osmo.js';

describe('osmo runner', () => {
  it('a spare ends when the daemon that started it is gone, even before it started', async () => {
    // A daemon that is gone: a process that has ended (its pid is not this runner's parent).
    const gone = spawnSync('true').pid;
    const runner = fork(osmoBin, ['runner', '--host', '127.0.0.1', '--daemon-pid', String(gone)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    runner.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const deadline = setTimeout(() => runner.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(runner, 'exit')) as [number | null, string | null];
    clearTimeout(deadline);
    assert.equal(signal, null, `killed at the deadline: ${stderr}`);
    assert.equal(code, 0, stderr);
  });

  it('started by hand, says so in one line', async () => {
    const r = await osmo(['runner', '--host', '127.0.0.1'], { stdinNull: true });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'osmo: osmo runner is started by osmo daemon, not by hand\n');
  });
});
