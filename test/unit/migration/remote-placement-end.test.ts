/**
 * A program away ends just as its deputy asks it to stop (a move home, a freeze): the runner
 * reports the outcome, closes the link and is gone. The deputy must report that outcome, not
 * take the closed link for a program parked there and lose it trying to reach a runner that
 * no longer listens (CI, 2026-12-06: `osmo run -r n2` ended with exit 69 while the home's
 * balancer brought its I/O-bound program home).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syscallId } from '../../../src/protocol/syscall-table.js';
import { RemotePlacement } from '../../../src/migration/remote-placement.js';
import { Frame } from '../../../src/migration/runner-wire.js';
import type { DeputyMessage } from '../../../src/migration/runner-wire.js';
import { fakeOffer, fakeRunner, sendToDeputy as send } from '../../helpers/fake-runner.js';

/** A pipelined write of `text` to stdout, as a runner sends it. */
function stdoutWrite(text: string): Buffer {
  const data = Buffer.from(text);
  const request = Buffer.alloc(12 + data.length);
  request.writeUInt16LE(syscallId('fdWrite'), 0);
  request.writeUInt32LE(1, 4);
  request.writeUInt32LE(data.length, 8);
  data.copy(request, 12);
  return request;
}

void test('a program that ends as it is asked to stop settles with its outcome, not lost', async () => {
  const fromDeputy: DeputyMessage[] = [];
  const runner = await fakeRunner((m, link) => {
    fromDeputy.push(m);
    if (m.t === 'start') send(link, { t: 'resumed' });
  });

  // The deputy is still writing the program's last output when the end arrives.
  const written: string[] = [];
  let release: () => void = () => undefined;
  const writeHeld = new Promise<void>((resolve) => (release = resolve));
  const placement = await RemotePlacement.startIn(runner.grant, fakeOffer([1]), {
    handler: async (request, length, response) => {
      written.push(Buffer.from(request.buffer, request.byteOffset + 12, length - 12).toString());
      await writeHeld;
      response.setUint32(0, 0, true);
      response.setUint32(4, length - 12, true);
      return 8;
    },
    cancelWaits: () => false,
    pipelinable: () => true,
  });
  const runnerLink = await runner.linked;

  runnerLink.send(Frame.SYSCALL_WRITE, stdoutWrite('last words\n'));
  const stopping = placement.suspendInto({
    push: () => undefined,
    end: () => assert.fail('no image comes from a program that ended'),
    abort: () => undefined,
  });
  // The runner got the request after its program had ended: it reports the end and goes.
  while (!fromDeputy.some((m) => m.t === 'suspend')) await new Promise((r) => setTimeout(r, 1));
  send(runnerLink, { t: 'outcome', outcome: { kind: 'exit', code: 3 } });
  runnerLink.close();

  await assert.rejects(stopping, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'E_NO_PROCESS');
    assert.match(error.message, /ended on node n2 before it could be stopped/);
    return true;
  });
  assert.equal(placement.parked, false, 'nothing is parked there to come back to');
  await assert.rejects(placement.reattachAndResume(), /ended on node n2/);
  release();
  assert.deepEqual(await placement.outcome, { kind: 'exit', code: 3 });
  assert.deepEqual(written, ['last words\n'], 'its last output is written, once');
});
