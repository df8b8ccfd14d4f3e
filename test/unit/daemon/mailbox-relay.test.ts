/**
 * A home daemon's part in mailbox messages between homes (mailbox-relay.ts), with a real ticket
 * proof file and a real process-control socket: a key stands for the user who proved it; a
 * message is put in a program's mailbox only for the same uid (or root); an unknown key, pid or
 * user is refused with the code the sender's errno comes from.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OsmoError } from '../../../src/core/errors.js';
import { MailboxRelay } from '../../../src/daemon/mailbox-relay.js';
import { NativeTickets, PROOF_PREFIX } from '../../../src/daemon/native-tickets.js';
import { startProcessControlServer } from '../../../src/process-control/server.js';
import type { ProcessInfo } from '../../../src/process-control/types.js';
import { FakeControl } from '../process-control/fake-control.js';

async function setUp(t: { after: (fn: () => unknown) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'osmo-relay-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const received: { from: { home: string; pid: number }; payload: string }[] = [];
  const control = Object.assign(new FakeControl(process.pid, root), {
    deliver: (from: { home: string; pid: number }, payload: Buffer) => {
      received.push({ from, payload: payload.toString() });
      return { queuedBytes: 72 + payload.length };
    },
  });
  const server = await startProcessControlServer(control, {
    env: { XDG_RUNTIME_DIR: join(root, 'run') },
    pid: process.pid,
  });
  t.after(() => server.close());
  const relays: MailboxRelay[] = [];
  t.after(() => relays.forEach((r) => r.close()));
  const tickets = new NativeTickets(join(root, 'proofs'), Date.now);
  const asked: { node: string; op: string; args: object; payload?: string }[] = [];
  const relay = (node: string): MailboxRelay => {
    const made = new MailboxRelay({
      node,
      tickets,
      programs: () => [{ info: { pid: process.pid } as ProcessInfo, socket: server.path }],
      links: {
        ask: (to, op, args, data) => {
          asked.push({ node: to.name, op, args, payload: data?.payload.toString() });
          return Promise.resolve({ queuedBytes: 1 });
        },
        closeAll: () => undefined,
      },
      address: (name) => ({ host: '127.0.0.1', port: 1, name }),
    });
    relays.push(made);
    return made;
  };
  const prove = (): string => {
    const { ticket, dir } = tickets.issue();
    writeFileSync(join(dir, PROOF_PREFIX + ticket), '');
    return ticket;
  };
  return { relay, received, asked, prove };
}

const codeOf = (e: unknown): string => (e as OsmoError).code;

void test('a proved key carries a message to another home, vouched for by this one', async (t) => {
  const s = await setUp(t);
  const n1 = s.relay('n1');
  const { key } = n1.issueKey({ proof: s.prove() });
  const data = Buffer.from('hi').toString('base64');
  const result = await n1.fromDeputy({ key, home: 'n2', pid: 42, fromPid: 7, data });
  assert.deepEqual(result, { queuedBytes: 1 });
  // The home is this node's name, whatever the deputy claims; the uid is the proof's owner.
  // The message goes on as bytes: the node link decides how to carry them (peer-service.ts).
  const vouched = { uid: process.getuid!(), pid: 42, fromHome: 'n1', fromPid: 7 };
  assert.deepEqual(s.asked, [{ node: 'n2', op: 'deliver', args: vouched, payload: 'hi' }]);
  // The same from a deputy that sent the bytes raw after its request line.
  const raw = Buffer.from('raw\nbytes');
  await n1.fromDeputy({ key, home: 'n2', pid: 42, fromPid: 7, dataBytes: raw.length }, raw);
  assert.deepEqual(s.asked[1], { node: 'n2', op: 'deliver', args: vouched, payload: 'raw\nbytes' });
});

void test('at the receiver home, a message reaches the program of that uid through its socket', async (t) => {
  const s = await setUp(t);
  const n2 = s.relay('n2');
  const data = Buffer.from('hello').toString('base64');
  const uid = process.getuid!();
  const r = await n2.fromPeer({ uid, pid: process.pid, fromHome: 'n1', fromPid: 7, data });
  assert.deepEqual(r, { queuedBytes: 77 });
  assert.deepEqual(s.received, [{ from: { home: 'n1', pid: 7 }, payload: 'hello' }]);
  // Raw bytes from a node link (JSON_DATA_FRAME) reach it the same.
  const raw = Buffer.from('raw\nbytes');
  const from = { uid, pid: process.pid, fromHome: 'n1', fromPid: 7, dataBytes: raw.length };
  await n2.fromPeer(from, raw);
  assert.deepEqual(s.received[1], { from: { home: 'n1', pid: 7 }, payload: 'raw\nbytes' });
  // Another user's program: refused. No such program: E_NO_PROCESS.
  await assert.rejects(
    n2.fromPeer({ uid: uid + 1000, pid: process.pid, fromHome: 'n1', fromPid: 7, data }),
    (e) => codeOf(e) === 'E_AUTH',
  );
  await assert.rejects(
    n2.fromPeer({ uid, pid: 999_999, fromHome: 'n1', fromPid: 7, data }),
    (e) => codeOf(e) === 'E_NO_PROCESS',
  );
  assert.equal(s.received.length, 2, 'the two accepted, nothing of the refused');
});

void test('an unknown key, a ticket without its proof file or malformed fields are refused', async (t) => {
  const s = await setUp(t);
  const n1 = s.relay('n1');
  await assert.rejects(
    n1.fromDeputy({ key: 'f'.repeat(32), home: 'n2', pid: 42, fromPid: 7, data: '' }),
    (e) => codeOf(e) === 'E_AUTH' && (e as OsmoError).details?.reason === 'key',
  );
  assert.throws(
    () => n1.issueKey({ proof: 'f'.repeat(32) }),
    (e) => codeOf(e) === 'E_AUTH',
  );
  const { key } = n1.issueKey({ proof: s.prove() });
  await assert.rejects(
    n1.fromDeputy({ key, home: 'n2', pid: -1, fromPid: 7, data: '' }),
    (e) => codeOf(e) === 'E_USAGE',
  );
  await assert.rejects(
    n1.fromDeputy({ key, home: 'n2', pid: 42, fromPid: 7, data: 'not base64!' }),
    (e) => codeOf(e) === 'E_USAGE',
  );
  await assert.rejects(
    s.relay('n2').fromPeer({ pid: process.pid, fromHome: 'n1', fromPid: 7, data: '' }),
    (e) => codeOf(e) === 'E_PROTO_DECODE',
  );
  assert.equal(s.asked.length, 0);
});
