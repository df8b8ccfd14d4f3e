/**
 * The guest's port to its deputy over the SharedArrayBuffer channel: each call encodes a request
 * straight from guest memory into the channel, blocks, and decodes the answer. Writes larger
 * than the channel go out in channel-sized pieces; reads are capped to the channel (a short read,
 * which every reader handles).
 */
import { encodeRequest, decodeResponse } from '../protocol/syscall-codec.js';
import type { ClientArg, ResultValue } from '../protocol/syscall-codec.js';
import {
  RESPONSE_DATA_OFFSET,
  SYSCALL_IDS,
  SYSCALLS,
  syscallId,
} from '../protocol/syscall-table.js';
import type { Fdstat } from '../wasi/abi.js';
import type { Result } from '../wasi/backend.js';
import type { GuestSyscalls } from '../wasi/guest-syscalls.js';
import type { ChannelClient } from './channel.js';
import { SUSPEND_ERRNO, SuspendRequested } from './preemption.js';
import { mayPost, POSTED_OP_BIT, Posting } from './posted-writes.js';
import { AHEAD_EOF_BIT, OPEN_AHEAD_WORD, ReadAhead } from './read-ahead.js';
import { FdstatCache } from './fdstat-cache.js';
import { Whence } from '../wasi/abi.js';

/** Request bytes reserved for everything but the payload of a write. */
const HEADER_RESERVE = 64;

/** The guest's port, and what it owes its deputy (./read-ahead.ts) before a message to the host. */
export type ChannelPort = GuestSyscalls & { settleReadAhead(): void };

export function createChannelPort(client: ChannelClient): ChannelPort {
  const { request, response } = client.layout;
  const maxRead = response.byteLength - RESPONSE_DATA_OFFSET;
  const maxWrite = request.byteLength - HEADER_RESERVE;
  const readAhead = new ReadAhead();
  const fdstats = new FdstatCache();
  const fdSeek = syscallId('fdSeek');

  /** Keeps the bytes of `fd` an answer carried ahead: their word at `wordAt`, they at `from`. */
  function keepAhead(fd: number, wordAt: number, from: number): void {
    const word = response.getUint32(wordAt, true);
    const ahead = word & ~AHEAD_EOF_BIT;
    if (word === 0 || from + ahead > response.byteLength) return;
    const at = response.byteOffset + from;
    const data = new Uint8Array(response.buffer.slice(at, at + ahead));
    readAhead.keep(fd, data, (word & AHEAD_EOF_BIT) !== 0);
  }

  /** Moves the deputy's offsets by what reads served from bytes read ahead consumed. */
  function pay(owed: readonly [number, number][]): void {
    for (const [fd, bytes] of owed) post(fdSeek, [fd, BigInt(bytes), Whence.CUR], []);
  }

  function call(op: number, args: readonly ClientArg[]): Result<ResultValue> {
    pay(readAhead.before(op, typeof args[0] === 'number' ? args[0] : undefined));
    fdstats.before(op, args);
    // A posted write may still be in the request region: it goes first.
    client.settle();
    const length = encodeRequest(request, op, args);
    const r = decodeResponse(response, client.call(length), op);
    // The deputy did not perform the call: the guest is to suspend here (preemption.ts).
    if (!r.ok && r.errno === SUSPEND_ERRNO) throw new SuspendRequested();
    return r;
  }

  const port: Record<string, (...args: never[]) => unknown> = {};
  SYSCALLS.forEach((spec, op) => {
    port[spec.name] =
      spec.result === 'none'
        ? (...args: ClientArg[]) => {
            const r = call(op, args);
            return r.ok ? 0 : r.errno;
          }
        : (...args: ClientArg[]) => call(op, args);
  });

  const id = (name: string): number => SYSCALL_IDS.get(name) ?? -1;
  const fdWrite = id('fdWrite');
  const fdPwrite = id('fdPwrite');
  const sockSend = id('sockSend');

  /** Sends `data` in pieces that fit the channel; stops at the first short or failed piece. */
  function chunked(
    data: readonly Uint8Array[],
    send: (piece: Uint8Array[], done: number) => Result<ResultValue>,
  ): Result<number> {
    let total = 0;
    for (const c of data) total += c.length;
    if (total <= maxWrite) return send(data as Uint8Array[], 0) as Result<number>;
    let done = 0;
    for (const piece of pieces(data, maxWrite)) {
      const r = send(piece, done);
      if (!r.ok) return done > 0 ? { ok: true, value: done } : r;
      const n = r.value as number;
      done += n;
      if (n < piece.reduce((s, c) => s + c.length, 0)) break;
    }
    return { ok: true, value: done };
  }

  /** A write nobody waits for (./posted-writes.ts): it counts as written whole. */
  function post(
    op: number,
    args: readonly ClientArg[],
    piece: readonly Uint8Array[],
  ): Result<number> {
    client.settle();
    const length = encodeRequest(request, op, args);
    request.setUint16(0, op | POSTED_OP_BIT, true);
    client.post(length);
    let n = 0;
    for (const c of piece) n += c.length;
    return { ok: true, value: n };
  }

  port.fdWrite = (fd: number, data: readonly Uint8Array[]) => {
    pay(readAhead.before(fdWrite, fd)); // a posted write does not pass through call()
    return chunked(data, (p) =>
      mayPost(client.layout.control, fd) ? post(fdWrite, [fd, p], p) : call(fdWrite, [fd, p]),
    );
  };
  port.fdPwrite = (fd: number, data: readonly Uint8Array[], offset: bigint) =>
    chunked(data, (p, done) => call(fdPwrite, [fd, p, offset + BigInt(done)]));
  port.sockSend = (fd: number, data: readonly Uint8Array[], flags: number) =>
    chunked(data, (p) => call(sockSend, [fd, p, flags]));
  const fdFdstatGet = id('fdFdstatGet');
  port.fdFdstatGet = (fd: number): Result<Fdstat> => {
    const known = fdstats.get(fd);
    if (known !== undefined) return { ok: true, value: known };
    const r = call(fdFdstatGet, [fd]) as Result<Fdstat>;
    if (r.ok) fdstats.answered(fd, r.value);
    return r;
  };
  const fdRead = id('fdRead');
  const fdPread = id('fdPread');
  const sockRecv = id('sockRecv');
  port.fdRead = (fd: number, length: number): Result<Uint8Array> => {
    const held = readAhead.take(fd, length);
    if (held !== undefined) return { ok: true, value: held };
    const r = call(fdRead, [fd, Math.min(length, maxRead)]) as Result<Uint8Array>;
    // The bytes that follow, if the deputy sent some (u32 @12; they follow the read's own), and
    // whether the file ends after them.
    if (r.ok) keepAhead(fd, 12, RESPONSE_DATA_OFFSET + r.value.length);
    return r;
  };
  const fdClose = id('fdClose');
  port.fdClose = (fd: number): number => {
    if (!mayPost(client.layout.control, fd, Posting.CLOSE)) {
      const r = call(fdClose, [fd]);
      return r.ok ? 0 : r.errno;
    }
    // A file open only for reading (posted-writes.ts Posting.CLOSE): its close cannot fail.
    pay(readAhead.before(fdClose, fd));
    fdstats.before(fdClose, [fd]);
    post(fdClose, [fd], []);
    return 0;
  };
  const pathOpen = id('pathOpen');
  port.pathOpen = (...args: ClientArg[]): Result<number> => {
    // Owed seeks first (their answers are written here too), then the word an answer without
    // first bytes leaves as it is: 0.
    pay(readAhead.before(pathOpen, typeof args[0] === 'number' ? args[0] : undefined));
    client.settle();
    response.setUint32(OPEN_AHEAD_WORD, 0, true);
    const r = call(pathOpen, args) as Result<number>;
    if (r.ok) keepAhead(r.value, OPEN_AHEAD_WORD, RESPONSE_DATA_OFFSET);
    return r;
  };
  port.fdPread = (fd: number, length: number, offset: bigint) =>
    call(fdPread, [fd, Math.min(length, maxRead), offset]);
  port.sockRecv = (fd: number, length: number, flags: number) =>
    call(sockRecv, [fd, Math.min(length, maxRead), flags]);

  port.settleReadAhead = () => pay(readAhead.settle());

  return port as unknown as ChannelPort;
}

/** Splits a list of chunks into groups of at most `limit` bytes, without copying. */
function* pieces(data: readonly Uint8Array[], limit: number): Generator<Uint8Array[]> {
  let group: Uint8Array[] = [];
  let size = 0;
  for (let chunk of data) {
    while (chunk.length > 0) {
      const n = Math.min(chunk.length, limit - size);
      group.push(chunk.subarray(0, n));
      size += n;
      chunk = chunk.subarray(n);
      if (size === limit) {
        yield group;
        group = [];
        size = 0;
      }
    }
  }
  if (size > 0) yield group;
}
