/**
 * The baseline of a move's transfer: the same number of bytes over a real authenticated link
 * (src/link) between two Node processes, in 4 MiB frames from reused buffers, 4 in flight —
 * what an image transfer would cost if nothing else happened (no program to stop, no image to
 * encode or check, no memory to fill).
 *
 *   node dist/bench/link-transfer.js BYTES        prints the milliseconds, first byte sent →
 *                                                  last byte received
 *   node dist/bench/link-transfer.js --serve      (the receiving process; internal)
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LinkConnection } from '../src/link/connection.js';
import { LinkServer } from '../src/link/server.js';

const KEY = Buffer.alloc(32, 7);
const FRAME = 4 << 20;
const IN_FLIGHT = 4;

/** Milliseconds for `bytes` to cross a loopback link: first send → the receiver has them all. */
export async function linkTransferMs(bytes: number): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', String(bytes)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve) =>
      child.once('message', (m: { port: number }) => resolve(m.port)),
    );
    const link = await LinkConnection.connect({ host: '127.0.0.1', port, key: KEY });
    const received = new Promise<number>((resolve) =>
      child.once('message', () => resolve(performance.now())),
    );
    const started = performance.now();
    const buffers = Array.from({ length: IN_FLIGHT }, () => Buffer.alloc(FRAME, 1));
    let next = 0;
    const sendOne = (buffer: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        const n = Math.min(FRAME, bytes - next);
        next += n;
        link.send(10, buffer.subarray(0, n), (error) => (error ? reject(error) : resolve()));
      });
    await Promise.all(
      buffers.map(async (buffer) => {
        while (next < bytes) await sendOne(buffer);
      }),
    );
    const ms = (await received) - started;
    link.close();
    return ms;
  } finally {
    child.kill();
  }
}

async function serve(bytes: number): Promise<void> {
  let got = 0;
  const server = await LinkServer.listen({
    host: '127.0.0.1',
    port: 0,
    key: KEY,
    onConnection: (link) =>
      link.onFrame((_type, payload) => {
        got += payload.length;
        if (got >= bytes) process.send!({ done: true });
      }),
  });
  process.send!({ port: server.port });
}

if (process.argv[2] === '--serve') await serve(Number(process.argv[3]));
else if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined)
  console.log((await linkTransferMs(Number(process.argv[2]))).toFixed(1));
