/**
 * A target that dies while the image is on its way (migration-faults' "crasher"): the deputy's
 * next send fails only with "link … is closed", but the move must report which node failed and
 * that the program never ran there, whichever of the two the deputy notices first (CI,
 * 2026-12-06: `osmo migrate PID crasher` said "link … is closed: … ended without a goodbye").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemotePlacement } from '../../../src/migration/remote-placement.js';
import { Frame } from '../../../src/migration/runner-wire.js';
import { fakeOffer, fakeRunner } from '../../helpers/fake-runner.js';

void test('a target gone mid-image fails the move as "node failed before the program ran there"', async () => {
  const runner = await fakeRunner((m, link) => {
    if (m.t === 'offer') link.destroy(); // crashes as the program arrives
  });
  const moving = RemotePlacement.moveIn(
    runner.grant,
    async (link) => {
      // The image keeps coming until a send finds the link gone.
      for (;;) {
        link.send(Frame.IMAGE, new Uint8Array(64 * 1024));
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    fakeOffer(),
    { handler: () => Promise.resolve(0), cancelWaits: () => false },
  );
  await assert.rejects(moving, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'E_LINK');
    assert.match(error.message, /^node n2 failed before the program ran there: link to /);
    return true;
  });
});
