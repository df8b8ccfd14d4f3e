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
import { Logger } from '../../../src/platform/logger.js';

const key = randomBytes(32);
const log = new Logger({ write: () => undefined }, 'error', {});

async function serve(
  t: { after: (fn: () => Promise<void>) => void },
  handle: (op: string, args: Record<string, unknown>) => Promise<unknown>,
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
