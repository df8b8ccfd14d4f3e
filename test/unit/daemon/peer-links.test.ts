/**
 * Requests to another daemon on a kept node link (PeerLinks), against a real PeerService on
 * loopback: requests in flight together each get their own answer (told apart by id), and an
 * error travels back with its code. A link whose other end died is made anew by the next request:
 * test/integration/mailbox.test.ts kills and restarts a receiver's home daemon for that.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { OsmoError } from '../../../src/core/errors.js';
import type { OsmoError as OsmoErrorType } from '../../../src/core/errors.js';
import { PeerLinks, PeerService } from '../../../src/daemon/peer-service.js';
import { LinkConnection } from '../../../src/link/index.js';
import { Logger } from '../../../src/platform/logger.js';

const key = randomBytes(32);
const log = new Logger({ write: () => undefined }, 'error', {});

async function serve(
  t: { after: (fn: () => Promise<void>) => void },
  handle: (op: string, args: Record<string, unknown>, payload?: Buffer) => Promise<unknown>,
  port = 0,
): Promise<PeerService> {
  const service = await PeerService.listen({
    host: '127.0.0.1',
    port,
    key,
    tls: false,
    log,
    handle,
  });
  t.after(() => service.close());
  return service;
}

void test('requests in flight together on kept links are each answered by their own id', async (t) => {
  let calls = 0;
  const service = await serve(t, async (op, args) => {
    calls++;
    // The later request is answered first: the answers must still find their requests.
    await new Promise((r) => setTimeout(r, args.n === 1 ? 30 : 0));
    return { op, n: args.n };
  });
  const links = new PeerLinks(key, false);
  t.after(() => links.closeAll());
  const to = { host: '127.0.0.1', port: service.port, name: 'n2' };
  const answers = await Promise.all([1, 2, 3].map((n) => links.ask(to, 'echo', { n })));
  assert.deepEqual(answers, [
    { op: 'echo', n: 1 },
    { op: 'echo', n: 2 },
    { op: 'echo', n: 3 },
  ]);
  assert.equal(calls, 3);
  await assert.rejects(
    serve(t, () => Promise.reject(new OsmoError('E_NO_PROCESS', 'none here'))).then((other) =>
      links.ask({ host: '127.0.0.1', port: other.port, name: 'n3' }, 'deliver', {}),
    ),
    (e) => (e as OsmoErrorType).code === 'E_NO_PROCESS',
  );
});

void test('bytes with a request: in base64 until the node says it takes them raw, then raw', async (t) => {
  const seen: { args: Record<string, unknown>; payload?: string }[] = [];
  const answerRaw = { value: false };
  const service = await serve(t, (_op, args, payload) => {
    seen.push({ args, ...(payload !== undefined && { payload: payload.toString('latin1') }) });
    return Promise.resolve({ queuedBytes: 1, ...(answerRaw.value && { rawData: true }) });
  });
  const links = new PeerLinks(key, false);
  t.after(() => links.closeAll());
  const to = { host: '127.0.0.1', port: service.port, name: 'n2' };
  const bytes = (text: string): { payload: Buffer } => ({ payload: Buffer.from(text, 'latin1') });
  // A node that never says rawData (an older one) gets base64, every time.
  await links.ask(to, 'deliver', { pid: 1 }, bytes('a'));
  await links.ask(to, 'deliver', { pid: 1 }, bytes('b'));
  answerRaw.value = true;
  await links.ask(to, 'deliver', { pid: 1 }, bytes('c')); // still base64: it says so only now
  const big = 'x\n'.repeat(100_000);
  await links.ask(to, 'deliver', { pid: 1 }, bytes(big));
  await links.ask(to, 'deliver', { pid: 1 }, bytes(''));
  assert.deepEqual(seen.slice(0, 3), [
    { args: { pid: 1, data: 'YQ==' } },
    { args: { pid: 1, data: 'Yg==' } },
    { args: { pid: 1, data: 'Yw==' } },
  ]);
  assert.deepEqual(seen[3], { args: { pid: 1, dataBytes: big.length }, payload: big });
  assert.deepEqual(seen[4], { args: { pid: 1, dataBytes: 0 }, payload: '' });
});

void test('a request whose bytes are not as many as it says ends the link, unanswered', async (t) => {
  let calls = 0;
  const service = await serve(t, () => {
    calls++;
    return Promise.resolve({});
  });
  const link = await LinkConnection.connect({
    host: '127.0.0.1',
    port: service.port,
    key,
    tls: false,
    timeoutMs: 5_000,
  });
  const head = Buffer.from(JSON.stringify({ id: 1, op: 'deliver', args: { dataBytes: 5 } }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length, 0);
  link.send(9, [length, head, Buffer.from('four')]);
  const ended = await link.closed; // the server drops it (no goodbye)
  assert.ok(ended !== undefined, 'the link ended');
  assert.equal(calls, 0);
});
