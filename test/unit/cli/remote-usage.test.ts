import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { RemoteUsage } from '../../../src/cli/process-profile.js';
import type { RemotePlacement } from '../../../src/migration/remote-placement.js';

void test('RemoteUsage asks a runner one question at a time, and keeps what it answers', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let asked = 0;
    let answer: (info: { cpuTimeMs: number; memoryBytes: number }) => void = () => undefined;
    const placement = {
      info: () => {
        asked++;
        return new Promise<{ cpuTimeMs: number; memoryBytes: number }>((r) => (answer = r));
      },
    } as unknown as RemotePlacement;
    const usage = new RemoteUsage(() => placement, 1000);
    // A runner that does not run (stopped) answers nothing for a while: no pile of questions.
    for (let i = 0; i < 5; i++) mock.timers.tick(1000);
    assert.equal(asked, 1);
    answer({ cpuTimeMs: 1500, memoryBytes: 64 << 20 });
    await Promise.resolve();
    assert.equal(usage.totalMs, 1500);
    assert.equal(usage.memoryBytes, 64 << 20);
    mock.timers.tick(1000);
    assert.equal(asked, 2, 'the next question once the first is answered');
    usage.stop();
  } finally {
    mock.timers.reset();
  }
});
