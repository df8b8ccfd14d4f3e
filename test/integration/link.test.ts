/**
 * Links over real loopback sockets: handshake, frames both ways, a 64 MiB frame, every way a
 * handshake is refused, heartbeat silence, orderly close, TLS-PSK. Nothing sleeps: each test
 * awaits the event it expects, under the test's own deadline.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { OsmoError } from '../../src/core/errors.js';
import { isOsmoError } from '../../src/core/errors.js';
import type { LinkServerOptions, LinkTimers } from '../../src/link/index.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  LinkConnection,
  LinkServer,
  deriveLinkKey,
  encodeHello,
} from '../../src/link/index.js';

const key = deriveLinkKey(Buffer.from('correct horse battery staple 42'), 'control');
const wrongKey = deriveLinkKey(Buffer.from('another cluster secret entirely'), 'control');
const HOST = '127.0.0.1';
const T = { timeout: 20_000 };

/** A queue whose `next()` waits for the next item. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];
  put = (item: T): void => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  };
  next(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

interface TestServer {
  server: LinkServer;
  accepted: Inbox<LinkConnection>;
  rejected: Inbox<{ remote: string; error: OsmoError }>;
}

const servers: LinkServer[] = [];
const links: LinkConnection[] = [];
after(async () => {
  for (const link of links) link.destroy();
  for (const server of servers) await server.close();
});

async function startServer(o: Partial<LinkServerOptions> = {}): Promise<TestServer> {
  const accepted = new Inbox<LinkConnection>();
  const rejected = new Inbox<{ remote: string; error: OsmoError }>();
  const server = await LinkServer.listen({
    host: HOST,
    port: 0,
    key,
    onConnection: (link) => {
      links.push(link);
      accepted.put(link);
    },
    onRejected: (remote, error) => rejected.put({ remote, error }),
    ...o,
  });
  servers.push(server);
  return { server, accepted, rejected };
}

async function connect(
  server: LinkServer,
  o: Partial<Parameters<typeof LinkConnection.connect>[0]> = {},
): Promise<LinkConnection> {
  const link = await LinkConnection.connect({ host: HOST, port: server.port, key, ...o });
  links.push(link);
  return link;
}

/** Resolves with the first `count` user frames received on `link` (payloads copied). */
function collect(
  link: LinkConnection,
  count: number,
): Promise<{ type: number; payload: Buffer }[]> {
  const got: { type: number; payload: Buffer }[] = [];
  return new Promise((resolve) => {
    link.onFrame((type, payload) => {
      got.push({ type, payload: Buffer.from(payload) });
      if (got.length === count) resolve(got);
    });
  });
}

function echo(link: LinkConnection): void {
  link.onFrame((type, payload) => link.send(type, payload));
}

/** A port with nothing listening on it (just released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Yields to the event loop until `condition` holds (the test's deadline bounds the wait). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

class FakeTimers implements LinkTimers {
  time = 0;
  private fns: (() => void)[] = [];
  now(): number {
    return this.time;
  }
  setInterval(fn: () => void): unknown {
    this.fns.push(fn);
    return fn;
  }
  clearInterval(handle: unknown): void {
    this.fns = this.fns.filter((f) => f !== handle);
  }
  advance(ms: number): void {
    this.time += ms;
    for (const fn of [...this.fns]) fn();
  }
  /** Advances `ms` in steps of `step`, firing the intervals at each, as a running process would. */
  run(ms: number, step: number): void {
    for (let t = 0; t < ms; t += step) this.advance(Math.min(step, ms - t));
  }
  get active(): number {
    return this.fns.length;
  }
}

describe('link over loopback', () => {
  it('authenticates and carries frames both ways, in order', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server);
    assert.equal(client.remote, `${HOST}:${server.port}`);
    // Sent before the server side set a handler: queued, not lost.
    for (let i = 0; i < 500; i++) client.send(8 + (i % 200), Buffer.from(`to server ${i}`));
    const link = await accepted.next();
    assert.match(link.remote, /^127\.0\.0\.1:\d+$/);
    const atServer = await collect(link, 500);
    atServer.forEach((f, i) => {
      assert.equal(f.type, 8 + (i % 200));
      assert.equal(f.payload.toString(), `to server ${i}`);
    });

    const atClient = collect(client, 3);
    link.send(9);
    link.send(10, [Buffer.from('a'), new Uint8Array(0), Buffer.from('bc')]);
    link.sendJson(11, { n: 1, big: 2n ** 64n, s: 'é' });
    const [empty, parts, json] = await atClient;
    assert.deepEqual(empty, { type: 9, payload: Buffer.alloc(0) });
    assert.deepEqual(parts, { type: 10, payload: Buffer.from('abc') });
    assert.equal(json?.type, 11);
    assert.deepEqual(JSON.parse(json.payload.toString('utf8')), {
      n: 1,
      big: '18446744073709551616',
      s: 'é',
    });
    assert.throws(
      () => client.send(7),
      (e) => isOsmoError(e, 'E_INTERNAL'),
    );
  });

  it('sends a corked burst whole and in order; drain hands it over at once', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server);
    const link = await accepted.next();
    const got = collect(link, 300);
    client.corkUntilTaskEnds();
    for (let i = 0; i < 300; i++) client.send(8, Buffer.from(`write ${i}`));
    const socket = (client as unknown as { socket: net.Socket }).socket;
    assert.equal(socket.writableCorked, 1, 'held back until the task ends');
    // drain() hands it over at once: a runner may end its process as soon as it resolves.
    const drained = client.drain();
    assert.equal(socket.writableCorked, 0, 'drain did not uncork');
    await drained;
    const frames = await got;
    frames.forEach((f, i) => assert.equal(f.payload.toString(), `write ${i}`));
    // Corked again in a later task: left when that task ended.
    const more = collect(link, 2);
    client.corkUntilTaskEnds();
    client.send(9, Buffer.from('a'));
    client.send(9, Buffer.from('b'));
    assert.deepEqual(
      (await more).map((f) => f.payload.toString()),
      ['a', 'b'],
    );
  });

  it('carries a 64 MiB frame intact each way', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server);
    const link = await accepted.next();
    const big = Buffer.allocUnsafe(DEFAULT_MAX_FRAME_BYTES);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    const digest = createHash('sha256').update(big).digest('hex');

    const atServer = collect(link, 1);
    if (!client.send(200, big)) await client.drain();
    const [up] = await atServer;
    assert.equal(up?.payload.length, big.length);
    assert.equal(createHash('sha256').update(up.payload).digest('hex'), digest);

    // Back as four parts (one writev), to exercise the gathered path.
    const quarter = big.length / 4;
    const atClient = collect(client, 1);
    link.send(
      201,
      [0, 1, 2, 3].map((q) => big.subarray(q * quarter, (q + 1) * quarter)),
    );
    await link.drain();
    const [down] = await atClient;
    assert.equal(createHash('sha256').update(down!.payload).digest('hex'), digest);
  });

  it('tells a frame handler when the first byte of its frame arrived', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server);
    const link = await accepted.next();
    const seen: { startedMs: number; handledMs: number }[] = [];
    let arrived: () => void = () => undefined;
    link.onFrame(() => {
      seen.push({ startedMs: link.frameStartedMs, handledMs: performance.now() });
      arrived();
    });
    const next = () => new Promise<void>((resolve) => (arrived = resolve));
    // 16 MiB arrive in many chunks: the frame began well before its handler runs. (Timed from
    // the end of the send call: copying 16 MiB into the socket may take longer than reading it.)
    const big = next();
    const sending = client.send(200, Buffer.alloc(16 << 20, 7));
    const sentBig = performance.now();
    if (!sending) await client.drain();
    await big;
    const sentSmall = performance.now();
    const small = next();
    client.send(201, Buffer.from('x'));
    await small;
    const [first, second] = seen;
    // Its first chunk came in the first half of the time from send to handler (256 of them).
    const { startedMs, handledMs } = first!;
    assert.ok(startedMs >= sentBig, `${startedMs} < ${sentBig}`);
    assert.ok(startedMs - sentBig < (handledMs - sentBig) / 2, JSON.stringify({ sentBig, first }));
    assert.ok(second!.startedMs >= sentSmall && second!.startedMs <= second!.handledMs);
  });

  it('refuses a wrong key: E_AUTH on the client, onRejected on the server', T, async () => {
    const { server, accepted, rejected } = await startServer();
    await assert.rejects(
      LinkConnection.connect({ host: HOST, port: server.port, key: wrongKey }),
      (e) =>
        isOsmoError(e, 'E_AUTH') &&
        e.message ===
          `peer ${HOST}:${server.port} failed authentication: wrong cluster secret or token`,
    );
    const { remote, error } = await rejected.next();
    assert.match(remote, /^127\.0\.0\.1:\d+$/);
    assert.ok(isOsmoError(error, 'E_AUTH'), error.message);
    assert.match(error.message, /wrong cluster secret or token/);
    // The server goes on serving.
    await connect(server);
    await accepted.next();
  });

  it('lets the server choose the key after the HELLO, or refuse the client', T, async () => {
    let allow = true;
    const { server, accepted, rejected } = await startServer({
      key: (hello, remote) => {
        assert.equal(hello.role, 'client');
        assert.match(remote, /^127\.0\.0\.1:/);
        return allow ? key : undefined;
      },
    });
    await connect(server);
    await accepted.next();
    allow = false;
    await assert.rejects(connect(server), (e) => isOsmoError(e, 'E_LINK'));
    assert.ok(isOsmoError((await rejected.next()).error, 'E_AUTH'));
  });

  it('reports an unreachable port as E_LINK "cannot reach"', T, async () => {
    const port = await closedPort();
    await assert.rejects(
      LinkConnection.connect({ host: HOST, port, key }),
      (e) => isOsmoError(e, 'E_LINK') && e.message === `cannot reach ${HOST}:${port}: ECONNREFUSED`,
    );
  });

  it('times out on a peer that accepts but never answers', T, async () => {
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, HOST, r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      await assert.rejects(
        LinkConnection.connect({ host: HOST, port, key, timeoutMs: 100 }),
        (e) =>
          isOsmoError(e, 'E_LINK') &&
          e.message === `${HOST}:${port} did not answer the link handshake within 100 ms`,
      );
    } finally {
      silent.close();
    }
  });

  it('rejects a stranger sending junk without disturbing the server', T, async () => {
    const { server, accepted, rejected } = await startServer();
    const junk = net.connect({ host: HOST, port: server.port });
    const junkClosed = new Promise<void>((r) => junk.on('close', () => r()));
    junk.on('error', () => undefined);
    junk.on('data', () => undefined);
    junk.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const { error } = await rejected.next();
    assert.ok(isOsmoError(error, 'E_PROTO_DECODE'), error.message);
    assert.match(error.message, /not an Osmosis link \(wrong port\?\)/);
    await junkClosed;
    // So is one with a good HELLO that then claims a 4 GiB frame instead of its proof.
    const liar = net.connect({ host: HOST, port: server.port });
    liar.on('error', () => undefined);
    liar.on('data', () => undefined);
    liar.write(encodeHello('client', randomBytes(32)));
    liar.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1]));
    const lie = await rejected.next();
    assert.ok(isOsmoError(lie.error, 'E_PROTO_DECODE'), lie.error.message);
    assert.match(lie.error.message, /where its link PROOF belongs/);
    liar.destroy();
    await connect(server);
    await accepted.next();
  });

  it('refuses to connect to something that is not a link server', T, async () => {
    const ssh = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    await new Promise<void>((r) => ssh.listen(0, HOST, r));
    const { port } = ssh.address() as net.AddressInfo;
    try {
      await assert.rejects(
        LinkConnection.connect({ host: HOST, port, key }),
        (e) => isOsmoError(e, 'E_PROTO_DECODE') && /not an Osmosis link/.test(e.message),
      );
    } finally {
      ssh.close();
    }
  });

  it('breaks the link (E_LINK both ends) on a frame over maxFrameBytes', T, async () => {
    const { server, accepted } = await startServer({ maxFrameBytes: 1024 });
    const client = await connect(server);
    const link = await accepted.next();
    link.onFrame(() => assert.fail('no frame expected'));
    client.send(8, Buffer.alloc(2000));
    const atServer = await link.closed;
    assert.ok(isOsmoError(atServer, 'E_LINK'));
    assert.match(atServer.message, /2000 payload bytes exceeds the limit of 1024/);
    assert.ok(isOsmoError(await client.closed, 'E_LINK'));
  });

  it('closes in order: undefined on both ends, frames sent before close arrive', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server);
    const link = await accepted.next();
    const got = collect(link, 2);
    client.send(8, Buffer.from('last words'));
    client.send(9, Buffer.alloc(100_000, 1));
    client.close();
    assert.equal(client.state, 'closing');
    assert.throws(
      () => client.send(8),
      (e) => isOsmoError(e, 'E_LINK'),
    );
    const [words, bulk] = await got;
    assert.equal(words?.payload.toString(), 'last words');
    assert.equal(bulk?.payload.length, 100_000);
    assert.equal(await client.closed, undefined);
    assert.equal(await link.closed, undefined);
    assert.equal(link.state, 'closed');

    // The accepting end may close too.
    const client2 = await connect(server);
    const link2 = await accepted.next();
    link2.close();
    assert.equal(await client2.closed, undefined);
    assert.equal(await link2.closed, undefined);
  });

  it('reports a peer that vanishes without goodbye as E_LINK', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server);
    const link = await accepted.next();
    client.destroy();
    assert.equal(await client.closed, undefined);
    const reason = await link.closed;
    assert.ok(isOsmoError(reason, 'E_LINK'), String(reason));
    assert.match(reason.message, /without a goodbye|failed|closed unexpectedly/);
  });

  it('sends heartbeats when idle and declares a silent peer dead (driven clock)', T, async () => {
    const timers = new FakeTimers();
    // The server end sends no heartbeats: to the client it is a peer that stopped answering,
    // except for the echoes the test asks for.
    const { server, accepted } = await startServer();
    const client = await connect(server, { heartbeatMs: 100, timers });
    const link = await accepted.next();
    echo(link);
    const pong = new Inbox<number>();
    client.onFrame((type) => pong.put(type));

    timers.advance(100); // idle for 100 ms: a heartbeat goes out
    assert.equal(client.stats().heartbeatsSent, 1);
    client.send(8); // a barrier: the echo comes back after the heartbeat was received
    assert.equal(await pong.next(), 8);
    assert.equal(link.stats().heartbeatsReceived, 1);
    assert.equal(link.stats().framesReceived, 1);

    timers.advance(0); // the tick notes the echo as the last thing received (t = 100)
    timers.run(250, 50); // ticks every 50 ms, as the interval fires
    assert.equal(client.state, 'open');
    timers.advance(50); // t = 400: silent for 3 × 100 ms
    assert.equal(client.state, 'closed');
    const reason = await client.closed;
    assert.ok(isOsmoError(reason, 'E_LINK'));
    assert.equal(
      reason.message,
      `peer ${HOST}:${server.port} went silent for 300 ms (heartbeat every 100 ms)`,
    );
    assert.equal(timers.active, 0, 'heartbeat timer stopped');
    assert.ok(isOsmoError(await link.closed, 'E_LINK'));
  });

  it('does not blame the peer for time this end did not run (stopped, starved)', T, async () => {
    const timers = new FakeTimers();
    const { server, accepted } = await startServer();
    const client = await connect(server, { heartbeatMs: 100, timers });
    await accepted.next(); // never heartbeats, never answers
    // This process was stopped (Ctrl-Z) for 10 s: its first tick after comes 10 s late.
    timers.advance(10_000);
    assert.equal(client.state, 'open', 'what the peer sent meanwhile is still unread');
    timers.run(250, 50);
    assert.equal(client.state, 'open');
    timers.advance(50); // silent for 3 × 100 ms of this end's running time
    assert.equal(client.state, 'closed');
    assert.match((await client.closed)?.message ?? '', /went silent for 300 ms/);
  });

  it('declares a silent peer dead with real timers', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server, { heartbeatMs: 20 });
    await accepted.next(); // never heartbeats, never answers
    const reason = await client.closed;
    assert.ok(isOsmoError(reason, 'E_LINK'));
    assert.match(reason.message, /went silent for \d+ ms/);
  });

  it(
    'reads nothing while paused, then everything in order; a paused peer is not silent',
    T,
    async () => {
      const timers = new FakeTimers();
      const { server, accepted } = await startServer();
      const client = await connect(server, { heartbeatMs: 100, timers });
      const link = await accepted.next();
      const got = new Inbox<number>();
      client.onFrame((type) => got.put(type));
      const atServer = new Inbox<number>();
      link.onFrame((type) => atServer.put(type));
      let release!: () => void;
      client.pauseReadingUntil(new Promise<void>((resolve) => (release = resolve)));
      link.send(10);
      link.send(11, Buffer.alloc(1 << 20, 7));
      // The server wrote both before it could see this one: on loopback they are in the client's
      // receive queue by the time it arrives there.
      client.send(8);
      assert.equal(await atServer.next(), 8);
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.equal(client.stats().framesReceived, 0, 'nothing read while paused');
      timers.advance(100);
      timers.advance(300); // silent for 400 ms, but only because this end does not read
      assert.equal(client.state, 'open');
      release();
      assert.equal(await got.next(), 10);
      assert.equal(await got.next(), 11);
      assert.equal(client.state, 'open');
    },
  );

  it('keeps an idle link with heartbeats on both ends alive', T, async () => {
    const timers = new FakeTimers();
    const { server, accepted } = await startServer({ heartbeatMs: 100, timers });
    const client = await connect(server, { heartbeatMs: 100, timers });
    const link = await accepted.next();
    for (let round = 1; round <= 10; round++) {
      timers.advance(100); // both ends idle: both send a heartbeat
      // Heartbeats are not delivered as frames, so wait on the counters for each end to have
      // received the other's heartbeat before the next tick.
      await until(
        () =>
          client.stats().heartbeatsReceived >= round && link.stats().heartbeatsReceived >= round,
      );
    }
    assert.equal(client.state, 'open');
    assert.equal(link.state, 'open');
    assert.equal(client.stats().framesReceived, 0);
  });
});

describe('link server', () => {
  it('reports an unusable listen address as E_CONFIG', T, async () => {
    const { server } = await startServer();
    await assert.rejects(
      LinkServer.listen({ host: HOST, port: server.port, key, onConnection: () => undefined }),
      (e) =>
        isOsmoError(e, 'E_CONFIG') &&
        e.message.includes(`${HOST}:${server.port}`) &&
        /already in use/.test(e.message),
    );
    await assert.rejects(
      LinkServer.listen({ host: '192.0.2.1', port: 0, key, onConnection: () => undefined }),
      (e) => isOsmoError(e, 'E_CONFIG') && /not an address of this machine/.test(e.message),
    );
    await assert.rejects(
      LinkServer.listen({ host: HOST, port: 70000, key, onConnection: () => undefined }),
      (e) => isOsmoError(e, 'E_CONFIG'),
    );
  });

  it('stops listening on close, leaving handed-over links open', T, async () => {
    const { server, accepted } = await startServer();
    const client = await connect(server);
    const link = await accepted.next();
    await server.close();
    await assert.rejects(connect(server), (e) => isOsmoError(e, 'E_LINK'));
    const got = collect(link, 1);
    client.send(8, Buffer.from('still here'));
    assert.equal((await got)[0]?.payload.toString(), 'still here');
  });
});

describe('link over TLS-PSK', () => {
  it('authenticates and carries frames, small and large', T, async () => {
    const { server, accepted } = await startServer({ tls: true });
    const client = await connect(server, { tls: true });
    const link = await accepted.next();
    echo(link);
    const big = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    const got = collect(client, 2);
    client.send(8, Buffer.from('over tls'));
    client.send(9, big);
    const [small, large] = await got;
    assert.equal(small?.payload.toString(), 'over tls');
    assert.ok(large?.payload.equals(big));
    client.close();
    assert.equal(await link.closed, undefined);
  });

  it('refuses a wrong key with E_AUTH on both ends', T, async () => {
    const { server, rejected } = await startServer({ tls: true });
    await assert.rejects(
      LinkConnection.connect({ host: HOST, port: server.port, key: wrongKey, tls: true }),
      (e) => isOsmoError(e, 'E_AUTH'),
    );
    assert.ok(isOsmoError((await rejected.next()).error, 'E_AUTH'));
  });

  it('says so when only one end speaks TLS', T, async () => {
    const { server, rejected } = await startServer();
    await assert.rejects(connect(server, { tls: true }), (e) => isOsmoError(e, 'E_LINK'));
    const { error } = await rejected.next();
    assert.match(error.message, /speaks TLS/);
  });
});
