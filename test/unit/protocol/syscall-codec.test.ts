/** The deputy's syscall codec: every op round-trips; truncated or corrupted input never decodes wrongly. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOsmoError } from '../../../src/core/errors.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../src/protocol/syscall-codec.js';
import type { ClientArg } from '../../../src/protocol/syscall-codec.js';
import {
  RESPONSE_DATA_OFFSET,
  SYSCALL_IDS,
  SYSCALLS,
} from '../../../src/protocol/syscall-table.js';
import { Eventtype, Filetype } from '../../../src/wasi/abi.js';

function sampleArgs(kinds: readonly string[]): ClientArg[] {
  return kinds.map((k, i) => {
    switch (k) {
      case 'u32':
        return 1000 + i;
      case 'u64':
        return 0xfedcba9876543210n + BigInt(i);
      case 'str':
        return `dir/ünïcode-${i}.txt`;
      case 'data':
        return [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
      case 'dest':
        return 64;
      case 'subs':
        return [
          {
            userdata: 7n,
            type: Eventtype.CLOCK,
            clockId: 1,
            timeout: 5_000_000n,
            precision: 0n,
            flags: 0,
          },
          { userdata: 8n, type: Eventtype.FD_READ, fd: 0 },
        ];
      default:
        throw new Error(k);
    }
  });
}

const buf = () => new DataView(new ArrayBuffer(4096));

describe('syscall codec', () => {
  it('round-trips every request', () => {
    SYSCALLS.forEach((spec, op) => {
      const req = buf();
      const resp = buf();
      const args = sampleArgs(spec.args);
      const len = encodeRequest(req, op, args);
      const d = decodeRequest(req, len, resp);
      assert.equal(d.op, op);
      assert.equal(d.name, spec.name);
      d.args.forEach((a, i) => {
        const kind = spec.args[i];
        if (kind === 'data') assert.deepEqual([...(a as Uint8Array)], [1, 2, 3, 4, 5]);
        else if (kind === 'dest') assert.equal((a as Uint8Array).length, 64);
        else assert.deepEqual(a, args[i], `${spec.name} arg ${i}`);
      });
    });
  });

  it('fails cleanly on every truncation of every request', () => {
    SYSCALLS.forEach((spec, op) => {
      const req = buf();
      const len = encodeRequest(req, op, sampleArgs(spec.args));
      for (let cut = 0; cut < len; cut++) {
        try {
          decodeRequest(req, cut, buf());
          // Some prefixes are complete requests of fewer bytes only if the tail was padding.
          assert.fail(`${spec.name} decoded from ${cut} of ${len} bytes`);
        } catch (error) {
          assert.ok(
            isOsmoError(error, 'E_PROTO_DECODE'),
            `${spec.name} cut ${cut}: ${String(error)}`,
          );
        }
      }
    });
  });

  it('rejects unknown ops and absurd lengths', () => {
    const req = buf();
    req.setUint16(0, 999, true);
    assert.throws(
      () => decodeRequest(req, 8, buf()),
      (e) => isOsmoError(e, 'E_PROTO_DECODE'),
    );
    const op = SYSCALL_IDS.get('pathCreateDirectory')!;
    const len = encodeRequest(req, op, [3, 'x']);
    req.setUint32(8, 0xffffffff, true); // the string's length
    assert.throws(
      () => decodeRequest(req, len, buf()),
      (e) => isOsmoError(e, 'E_PROTO_DECODE'),
    );
  });

  it('round-trips results', () => {
    const resp = buf();
    const fdstat = SYSCALL_IDS.get('fdFdstatGet')!;
    const value = {
      filetype: Filetype.REGULAR_FILE,
      flags: 1,
      rightsBase: 0x3fffffffn,
      rightsInheriting: 5n,
    };
    let len = encodeResponse(resp, fdstat, { ok: true, value });
    assert.deepEqual(decodeResponse(resp, len, fdstat), { ok: true, value });

    const readdir = SYSCALL_IDS.get('fdReaddir')!;
    const entries = [
      { next: 1n, ino: 42n, type: Filetype.DIRECTORY, name: new TextEncoder().encode('.') },
      { next: 2n, ino: 43n, type: Filetype.REGULAR_FILE, name: new TextEncoder().encode('file') },
    ];
    len = encodeResponse(resp, readdir, { ok: true, value: entries });
    const back = decodeResponse(resp, len, readdir);
    assert.ok(back.ok);
    assert.deepEqual(
      (back.value as typeof entries).map((e) => ({ ...e, name: [...e.name] })),
      entries.map((e) => ({ ...e, name: [...e.name] })),
    );

    const fdRead = SYSCALL_IDS.get('fdRead')!;
    new Uint8Array(resp.buffer, RESPONSE_DATA_OFFSET, 3).set([9, 8, 7]);
    len = encodeResponse(resp, fdRead, { ok: true, value: 3 });
    const read = decodeResponse(resp, len, fdRead);
    assert.ok(read.ok);
    assert.deepEqual([...(read.value as Uint8Array)], [9, 8, 7]);

    len = encodeResponse(resp, fdRead, 44);
    assert.deepEqual(decodeResponse(resp, len, fdRead), { ok: false, errno: 44 });
  });

  it('never reports a failed Result as success', () => {
    const resp = buf();
    const op = SYSCALL_IDS.get('fdTell')!;
    const len = encodeResponse(resp, op, { ok: false, errno: 0 });
    const r = decodeResponse(resp, len, op);
    assert.equal(r.ok, false);
  });
});
