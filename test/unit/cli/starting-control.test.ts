/** StartingControl: a program not started yet answers as starting, then hands over. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StartingControl } from '../../../src/cli/starting-control.js';
import { isOsmoError } from '../../../src/core/errors.js';
import type { ProcessControl, ProcessInfo } from '../../../src/process-control/index.js';

const refusedAs = (code: string) => (e: unknown) => isOsmoError(e) && e.code === code;

describe('StartingControl', () => {
  it('lists the program as starting and refuses every action until it runs', async () => {
    const c = new StartingControl({ home: 'n1', command: ['p.wasm', 'x'], job: 'j7' });
    const info = c.info();
    assert.equal(info.state, 'starting');
    assert.equal(info.pid, process.pid);
    assert.equal(info.home, 'n1');
    assert.equal(info.where, 'n1');
    assert.deepEqual(info.command, ['p.wasm', 'x']);
    assert.equal(info.job, 'j7');
    await assert.rejects(c.freeze(), refusedAs('E_USAGE'));
    await assert.rejects(c.checkpoint('/tmp/x'), refusedAs('E_USAGE'));
    await assert.rejects(c.continue(), refusedAs('E_USAGE'));
    await assert.rejects(c.migrate('n2'), refusedAs('E_USAGE'));
    assert.throws(
      () => c.deliver({ home: 'n1', pid: 1 }, Buffer.from('hi')),
      refusedAs('E_NO_PROCESS'),
    );
  });

  it('hands every request to the session once it runs', async () => {
    const calls: string[] = [];
    const running: ProcessControl = {
      info: () => ({ state: 'running' }) as ProcessInfo,
      checkpoint: (file) => (
        calls.push(`checkpoint ${file}`),
        Promise.resolve({ file: 'f', bytes: 1, ms: 1 })
      ),
      freeze: () => (calls.push('freeze'), Promise.resolve({ file: 'f', bytes: 1, ms: 1 })),
      continue: () => (calls.push('continue'), Promise.resolve()),
      migrate: (to, q) => (
        calls.push(`migrate ${to} ${q}`),
        Promise.resolve({ from: 'home', to, ms: 1, imageBytes: 0 })
      ),
      deliver: (from) => (calls.push(`deliver ${from.pid}`), { queuedBytes: 2 }),
    };
    const c = new StartingControl({ home: 'local', command: ['p.wasm'] });
    c.started(running);
    assert.equal(c.info().state, 'running');
    await c.checkpoint('/tmp/c');
    await c.freeze();
    await c.continue();
    await c.migrate('n3', 2);
    assert.deepEqual(c.deliver({ home: 'n1', pid: 9 }, Buffer.from('hi')), { queuedBytes: 2 });
    assert.deepEqual(calls, [
      'checkpoint /tmp/c',
      'freeze',
      'continue',
      'migrate n3 2',
      'deliver 9',
    ]);
  });
});
