/**
 * Posted writes (src/runtime/posted-writes.ts): a write to an fd the deputy allows goes out
 * without waiting for its answer, requests still reach the deputy one by one and in order, and
 * settle() — what the guest does before any message to its host thread — waits for the last one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ChannelServer, createChannelBuffer, layoutOf } from '../../../src/runtime/channel.js';
import {
  POSTED_OP_BIT,
  PostedWriteFlags,
  Posting,
  mayPost,
} from '../../../src/runtime/posted-writes.js';
import { encodeResponse } from '../../../src/protocol/syscall-codec.js';
import { SYSCALL_IDS } from '../../../src/protocol/syscall-table.js';
import { err, ok } from '../../../src/wasi/backend.js';

const FD_WRITE = SYSCALL_IDS.get('fdWrite')!;
const EIO = 29;

describe('posted writes', () => {
  it("an fd's writes and its close are allowed and forbidden apart", () => {
    const control = layoutOf(createChannelBuffer(1 << 12)).control;
    const flags = new PostedWriteFlags(control);
    flags.allow(7, Posting.CLOSE);
    assert.equal(mayPost(control, 7), false, 'writes: not allowed');
    assert.equal(mayPost(control, 7, Posting.CLOSE), true);
    flags.allow(7);
    flags.forbid(7);
    assert.equal(mayPost(control, 7, Posting.CLOSE), true, 'forbidding writes keeps the close');
    flags.forbid(7, Posting.CLOSE);
    assert.equal(mayPost(control, 7, Posting.CLOSE), false);
    assert.equal(mayPost(control, 99, Posting.CLOSE), false, 'beyond the slots: never');
  });

  it('go out without waiting, in order, and are all taken before the guest says anything', async () => {
    const sab = createChannelBuffer(1 << 16);
    const flags = new PostedWriteFlags(layoutOf(sab).control);
    flags.allow(5);
    assert.equal(mayPost(layoutOf(sab).control, 5), true);
    assert.equal(mayPost(layoutOf(sab).control, 6), false);
    const seen: { fd: number; posted: boolean; first: number }[] = [];
    let answered = 0;
    const server = new ChannelServer(
      sab,
      (request, _length, response) => {
        const raw = request.getUint16(0, true);
        const posted = (raw & POSTED_OP_BIT) !== 0;
        assert.equal(raw & ~POSTED_OP_BIT, FD_WRITE);
        // fd_write request: op u16, pad u16, fd u32, byte count u32, then the bytes.
        seen.push({ fd: request.getUint32(4, true), posted, first: request.getUint8(12) });
        // A posted write's answer is never read: answer it late, and with an error, to show it.
        if (!posted) return (answered++, encodeResponse(response, FD_WRITE, ok(10)));
        return new Promise<number>((resolve) =>
          setTimeout(() => {
            answered++;
            resolve(encodeResponse(response, FD_WRITE, err(EIO)));
          }, 20),
        );
      },
      (error) => assert.fail(String(error)),
    );
    server.start();
    const worker = new Worker(new URL('./posted-worker.js', import.meta.url), {
      workerData: { sab },
    });
    try {
      const results = await new Promise<unknown>((resolve, reject) => {
        worker.once('message', (m) => {
          // settle() returned before this message: the last posted write was answered.
          assert.equal(answered, 4, 'a posted write was still unanswered');
          resolve(m);
        });
        worker.once('error', reject);
      });
      assert.deepEqual(results, [ok(10), ok(1000), ok(1000), ok(1000)]);
      assert.deepEqual(seen, [
        { fd: 6, posted: false, first: 9 },
        { fd: 5, posted: true, first: 0 },
        { fd: 5, posted: true, first: 1 },
        { fd: 5, posted: true, first: 2 },
      ]);
    } finally {
      server.stop();
      await worker.terminate();
    }
  });
});
