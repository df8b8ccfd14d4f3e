import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideNative } from '../../../src/daemon/native-admission.js';
import type { NativeRequest } from '../../../src/daemon/native-admission.js';
import { executableOf } from '../../../src/platform/executable-lookup.js';
import type { FileCheck } from '../../../src/platform/executable-lookup.js';
import { NodeSampler, statusWords } from '../../../src/daemon/measure/sampler.js';
import { NodeFlags } from '../../../src/gossip/types.js';

/** A file system with /home/u (a directory), /home/u/prog and /usr/bin/tool (executables). */
const files: FileCheck = {
  isDirectory: (p) => p === '/home/u',
  isExecutable: (p) => p === '/home/u/prog' || p === '/usr/bin/tool',
};

const request: NativeRequest = {
  program: './prog',
  cwd: '/home/u',
  uid: 1000,
  gid: 1000,
  path: '/usr/local/bin:/usr/bin',
};
const host = { node: 'n3', acceptNative: true, daemonUid: 0 };

describe('which native programs a node runs (osmo run -E)', () => {
  it('runs one its administrator allowed, of a user other than root, that it has', () => {
    assert.deepEqual(decideNative(request, host, files), { ok: true });
    assert.deepEqual(decideNative({ ...request, program: 'tool' }, host, files), { ok: true });
  });

  it('refuses each other case with the reason', () => {
    const reasons = [
      decideNative(request, { ...host, acceptNative: false }, files),
      decideNative({ ...request, uid: 0 }, host, files),
      decideNative(request, { ...host, daemonUid: 1001 }, files),
      decideNative({ ...request, cwd: '/nowhere' }, host, files),
      decideNative({ ...request, program: './other' }, host, files),
      decideNative({ ...request, program: 'other' }, host, files),
    ].map((a) => (a.ok ? 'ok' : a.reason));
    assert.deepEqual(reasons, [
      'n3 does not run native programs (its daemon config has native off)',
      'n3 never runs a native program of root',
      "n3's daemon runs as uid 1001 and can run native programs of that user only, not of uid 1000",
      'n3 has no directory /nowhere to run ./prog in',
      'n3 has no executable /home/u/other',
      'n3 has no executable other in PATH',
    ]);
    // A daemon of the same user runs that user's programs.
    assert.deepEqual(decideNative(request, { ...host, daemonUid: 1000 }, files), { ok: true });
  });

  it('looks a bare name up in PATH in order, as execvp does', () => {
    const both: FileCheck = { ...files, isExecutable: (p) => p.endsWith('/tool') };
    assert.equal(executableOf({ ...request, program: 'tool' }, both), '/usr/local/bin/tool');
    assert.equal(executableOf({ ...request, program: 'tool', path: '' }, both), '/home/u/tool');
  });

  it('gossips the native flag, shown in the status words', () => {
    const settings = { cpus: 1, speed: 10_000, maxGuests: 4, acceptGuests: true, native: true };
    const probe = {
      readRunQueue: () => 0,
      readMemory: () => ({
        freeMemBytes: 1,
        totalMemBytes: 1,
        freeSwapBytes: 0,
        totalSwapBytes: 0,
      }),
    };
    const flags = new NodeSampler(probe, settings).info().flags;
    assert.ok((flags & NodeFlags.native) !== 0);
    assert.deepEqual(statusWords(flags), ['accepting', 'native']);
    const off = new NodeSampler(probe, { ...settings, native: false }).info().flags;
    assert.equal(off & NodeFlags.native, 0);
  });
});
